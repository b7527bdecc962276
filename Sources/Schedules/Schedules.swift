/// # Schedules
///
/// Learning-rate schedules for iterative pruning, as pure functions of the iteration
/// (SPEC §3–§4). Two layers:
///
/// - **Shapes** (`LearningRateSchedule`): the learning rate at iteration `t` of one
///   training cycle — constant, linear decay, triangular cyclical, warmup with 10x drops,
///   cosine, 1-cycle (CLR), scaled restarting (SLR), fine-tuning and LR rewinding.
///   `t` always counts from 0 at the start of the current cycle, so every schedule is
///   rewound at every pruning cycle, as in the S-Cyc / SILO experiments.
/// - **Peak policies** (`PeakPolicy`): the "schedule of schedules" choosing each cycle's
///   peak (`max_lr`): fixed, S-Cyc / SILO, an explicit table, or an oracle grid.
///   `CycleSchedule` composes the two: the shape of cycle `m` with the policy's peak.
///
/// Everything is a value type with a `validate()` that reports a typed `ScheduleError`
/// naming the parameter at fault. The module imports only Foundation so that any layer
/// (experiments, reports, the CLI) can use it without pulling in the engine.
public enum Schedules {}
