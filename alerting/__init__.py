"""Alerting: reads `socmon.alerts`, decides who is told, delivers, and records every delivery."""
