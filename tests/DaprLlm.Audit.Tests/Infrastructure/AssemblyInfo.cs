// Classes start their own processes (PostgreSQL, redis, sidecars); 2-core CI machines cap useful parallelism.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
