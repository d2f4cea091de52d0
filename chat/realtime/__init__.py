"""Live delivery: group names, the frames clients receive, and publishing after commit."""
