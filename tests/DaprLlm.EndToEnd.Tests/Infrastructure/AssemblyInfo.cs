// One AppHost per test class; classes run one after another so two systems never compete for 2 cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
