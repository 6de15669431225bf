"""Operating syncgov: the cycle a scheduler runs, its lock, and the journal of cycles."""
