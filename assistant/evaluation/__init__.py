"""Golden-set evaluation: reading golden sets, scoring them as eval/FORMAT.md says, the naive baseline."""
