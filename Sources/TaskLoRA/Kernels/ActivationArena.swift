/// Named activation buffers that are allocated once and reused across forward calls: a buffer
/// grows when a larger batch needs it and is never freed between steps.
public final class ActivationArena: @unchecked Sendable {
    private var buffers: [String: (pointer: UnsafeMutablePointer<Float>, capacity: Int)] = [:]

    public init() {}

    /// A buffer of at least `count` floats under `name`; contents are unspecified.
    public func buffer(_ name: String, count: Int) -> UnsafeMutablePointer<Float> {
        if let b = buffers[name], b.capacity >= count { return b.pointer }
        buffers[name]?.pointer.deallocate()
        let capacity = max(count, 1)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
        buffers[name] = (p, capacity)
        return p
    }

    /// Total floats held, for memory reports.
    public var floatsHeld: Int { buffers.values.reduce(0) { $0 + $1.capacity } }

    deinit { for b in buffers.values { b.pointer.deallocate() } }
}
