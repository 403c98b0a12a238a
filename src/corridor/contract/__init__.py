"""The data contract: dimensions, code lists, data dictionary, table schemas, periods."""
