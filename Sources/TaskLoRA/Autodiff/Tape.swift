/// The reverse-mode tape. During a taped forward pass every op saves what its backward needs in
/// `saved` buffers and appends a closure that runs its vector-Jacobian product; `backward()` walks
/// the closures in reverse. Gradients of activations live in `gradient(_:count:)` buffers, zeroed
/// the first time a pass asks for them, and ops accumulate (`+=`) into them so branches add up.
///
/// Both kinds of buffer are kept between steps and reused (memory is planned once, not per op).
public final class Tape: @unchecked Sendable {
    private let savedArena = ActivationArena()
    private let gradientArena = ActivationArena()
    private var records: [() -> Void] = []
    private var zeroedThisPass: Set<String> = []

    public init() {}

    /// Starts a new step: forgets the recorded closures (buffers stay allocated).
    public func reset() {
        records.removeAll(keepingCapacity: true)
        zeroedThisPass.removeAll(keepingCapacity: true)
    }

    /// A buffer that keeps a forward activation until backward has run.
    public func saved(_ name: String, count: Int) -> UnsafeMutablePointer<Float> {
        savedArena.buffer(name, count: count)
    }

    /// The gradient buffer of activation `name`, zero-filled on its first use in this pass.
    /// Activations whose gradients are never alive at the same time may share `storage` (the
    /// encoder's layers do: backward finishes layer l before it starts layer l − 1), so gradient
    /// memory does not grow with depth; each name is still zeroed on its own first use.
    public func gradient(_ name: String, storage: String? = nil, count: Int) -> UnsafeMutablePointer<Float> {
        let p = gradientArena.buffer(storage ?? name, count: count)
        if zeroedThisPass.insert(name).inserted { p.update(repeating: 0, count: count) }
        return p
    }

    /// Appends the backward step of the op just run.
    public func record(_ backward: @escaping () -> Void) { records.append(backward) }

    public var recordCount: Int { records.count }

    /// Runs every recorded backward step, last first, then clears the records.
    public func backward() {
        for r in records.reversed() { r() }
        records.removeAll(keepingCapacity: true)
    }

    /// Floats held in saved activations and gradients, for memory reports.
    public var floatsHeld: Int { savedArena.floatsHeld + gradientArena.floatsHeld }
}
