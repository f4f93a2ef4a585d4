"""Golden-set evaluation: reading golden sets, scoring them as docs/evaluation.md says, the naive baseline."""
