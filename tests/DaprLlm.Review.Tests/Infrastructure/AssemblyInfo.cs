// Each class starts its own sidecar, app (and browser); two at a time is what 2-core CI machines can carry.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
