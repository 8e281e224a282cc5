"""Dashboards: Kibana saved objects, the built-in web dashboard and the monthly report."""
