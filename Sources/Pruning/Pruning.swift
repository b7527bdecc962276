/// Pruning: everything that decides which weights live.
///
/// The flow is ShrinkBench's "score → threshold → mask": a `PruningCriterion` scores
/// every unpruned prunable weight, a `PruningScope` decides whether the lowest fraction
/// is taken over the whole network (global) or per layer (layerwise), and the result is
/// written into each `Parameter`'s mask with `setMask`, which keeps pruned weights at
/// exactly zero (SPEC §1–§2). Around that core:
///
/// - `prune(parameters:criterion:scope:rate:selection:)` / `Pruner`: one cycle of
///   unstructured pruning; `PrunableSelection` says which parameters may lose weights.
/// - `pruneFilters(parameters:criterion:rate:selection:)`: structured pruning of whole
///   output filters / neurons (PFEC L1 norm or random).
/// - `SparsityReport`: remaining counts and `percentRemaining` (the papers' lambda).
/// - `WeightSnapshot`: IMP / late rewinding of the survivors.
/// - `magprune(_:sparsity:scope:)` and `MaskMetrics`: the mask step of time-varying
///   projected gradient descent (SPEC §6), where pruned weights may regrow, with the
///   weight-recovery and Jaccard mask-distance metrics.
///
/// Ranking never builds per-element objects: scores are `Float` arrays and the lowest
/// `k` are found by a linear-time selection over packed 64-bit keys (`LowestSelection`).
/// Ties are broken by position — parameter order, then flat index — so a run is
/// reproducible bit for bit.
