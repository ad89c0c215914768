// The crash test starts its own processes (redis, sidecars, the publisher); 2-core CI machines cap useful parallelism.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
