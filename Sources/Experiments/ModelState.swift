import NN
import Tensor

/// Everything training changes in a model: parameter values and the layers' buffers
/// (BatchNorm running statistics). The oracle trains every candidate peak from one
/// `ModelState` and continues from the best one's.
struct ModelState {
    let values: [[Float]]
    let buffers: [[Float]]

    init(_ model: Model) {
        values = model.parameters.map(\.value.array)
        buffers = model.buffers.map(\.array)
    }

    /// A state read back from a mid-cycle checkpoint; nil when it does not fit `model`.
    init?(values: [[Float]], buffers: [[Float]], fitting model: Model) {
        guard values.count == model.parameters.count, buffers.count == model.buffers.count,
              zip(values, model.parameters).allSatisfy({ $0.count == $1.count }),
              zip(buffers, model.buffers).allSatisfy({ $0.count == $1.count }) else { return nil }
        self.values = values
        self.buffers = buffers
    }

    func restore(_ model: Model) {
        for (p, v) in zip(model.parameters, values) where p.count > 0 {
            v.withUnsafeBufferPointer { p.value.data.update(from: $0.baseAddress!, count: p.count) }
            p.applyMask()
        }
        for (t, b) in zip(model.buffers, buffers) where t.count > 0 {
            b.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
        }
    }
}
