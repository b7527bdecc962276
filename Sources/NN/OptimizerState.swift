import Tensor

/// Everything an optimizer carries between steps, per parameter in the order given: its
/// state tensors (SGD's momentum buffer, Adam's first and second moments, RMSProp's average
/// and momentum) and its step count (Adam's bias correction). A mid-cycle checkpoint stores
/// it so a resumed cycle takes the same steps as one that was never stopped.
public struct OptimizerState: Sendable, Equatable {
    /// Per parameter: its state tensors' values (empty before its first step, or for plain SGD).
    public var slots: [[[Float]]]
    /// Per parameter: steps taken since creation or `reset`.
    public var steps: [Int]

    public init(slots: [[[Float]]], steps: [Int]) {
        self.slots = slots
        self.steps = steps
    }
}

extension StateStore {
    func export(_ parameters: [Parameter]) -> OptimizerState {
        OptimizerState(slots: parameters.map { existing(for: $0).map(\.array) }, steps: parameters.map(stepCount(of:)))
    }

    /// Replaces all state with `state`; false (state unchanged) when it was exported for other parameters.
    func load(_ state: OptimizerState, into parameters: [Parameter]) -> Bool {
        guard state.slots.count == parameters.count, state.steps.count == parameters.count,
              zip(state.slots, parameters).allSatisfy({ s, p in
                  (s.isEmpty || s.count == perParameter) && s.allSatisfy { $0.count == p.count } }),
              state.steps.allSatisfy({ $0 >= 0 }) else { return false }
        reset()
        for (p, (s, t)) in zip(parameters, zip(state.slots, state.steps)) {
            if !s.isEmpty {
                for (tensor, values) in zip(slots(for: p), s) where p.count > 0 {
                    values.withUnsafeBufferPointer { tensor.data.update(from: $0.baseAddress!, count: p.count) }
                }
            }
            setStepCount(t, of: p)
        }
        return true
    }
}
