/// Tensor: contiguous `Float` storage with a shape, the kernels that work on it
/// (CBLAS GEMM, elementwise maps, reductions, softmax cross-entropy), the seeded
/// random generator and weight initialisers. Everything above builds on this module.

/// A contiguous row-major buffer of `Float`s with a shape.
///
/// A class, not a value: layers keep their activation and gradient buffers across
/// iterations and kernels write into them in place, so no step allocates. `resize`
/// reuses the allocation whenever the new shape fits in the capacity (the last,
/// smaller batch of an epoch).
public final class Tensor: @unchecked Sendable {
    /// The dimensions, outermost first.
    public private(set) var shape: [Int]
    /// Number of elements (the product of `shape`).
    public private(set) var count: Int
    public private(set) var capacity: Int
    /// The elements, row-major; valid while the tensor lives and until a `resize` beyond `capacity`.
    public private(set) var data: UnsafeMutablePointer<Float>

    /// A zero-filled tensor.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        capacity = Swift.max(count, 1)
        data = .allocate(capacity: capacity)
        data.initialize(repeating: 0, count: capacity)
    }

    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    public convenience init(shape: [Int], repeating value: Float) {
        self.init(shape: shape)
        fill(value)
    }

    deinit { data.deallocate() }

    /// Changes the shape; contents are unspecified unless the count is unchanged.
    public func resize(_ newShape: [Int]) {
        let n = newShape.reduce(1, *)
        if n > capacity {
            data.deallocate()
            capacity = n
            data = .allocate(capacity: n)
            data.initialize(repeating: 0, count: n)
        }
        shape = newShape
        count = n
    }

    /// Same elements, new shape (the element count must not change).
    public func reshape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: data, count: count) }
    /// A copy of the elements.
    public var array: [Float] { Array(buffer) }
    public var rank: Int { shape.count }

    @inlinable public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// Sets every element to `value`.
    public func fill(_ value: Float) { data.update(repeating: value, count: count) }
    public func zero() { fill(0) }

    /// Copies `other` (resizing to its shape).
    public func copy(from other: Tensor) {
        resize(other.shape)
        data.update(from: other.data, count: count)
    }

    /// A new tensor with the same shape and elements.
    public func clone() -> Tensor {
        let t = Tensor(shape: shape)
        t.data.update(from: data, count: count)
        return t
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = buffer.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(head)\(count > 8 ? ", …" : "")])"
    }
}
