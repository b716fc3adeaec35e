"""The super-resolution kind: release table, memory estimate and what its rules read."""
