import NN
import Tensor

/// Everything training changes in a model: parameter values and the layers' buffers
/// (BatchNorm running statistics). The oracle trains every candidate peak from one
/// `ModelState` and continues from the best one's.
struct ModelState {
    private let values: [[Float]]
    private let buffers: [[Float]]

    init(_ model: Model) {
        values = model.parameters.map(\.value.array)
        buffers = model.buffers.map(\.array)
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
