"""The bottom layer that every Parley app may import and that imports none of them: domain
errors with their stable codes, and the process's metrics."""
