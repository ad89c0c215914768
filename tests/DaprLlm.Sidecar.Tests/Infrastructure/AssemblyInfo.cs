// Each test class starts its own processes on ephemeral ports, so classes can run in parallel;
// 2-core CI machines cap the useful parallelism.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
