"""Scale-out: replicas of every process on one Redis, and replicas dying."""
