"""Private implementation of jaxact. Import from ``jaxact`` instead."""
