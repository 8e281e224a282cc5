"""Push sources against local servers replaying recorded frames, produced to the real broker."""
