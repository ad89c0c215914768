// Each test class starts its own processes on free ports; the 2-core machines cap useful parallelism.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
