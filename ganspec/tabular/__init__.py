"""The tabular kind: the customers demo table, data readers and the data scan."""
