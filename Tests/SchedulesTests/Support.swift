/// Relative-or-absolute closeness for hand-computed expectations.
func close(_ x: Double, _ y: Double, _ tolerance: Double = 1e-12) -> Bool {
    abs(x - y) <= tolerance * max(1, abs(y))
}
