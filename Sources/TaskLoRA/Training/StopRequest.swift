import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A request to stop training cleanly, set from another thread (a signal handler, a test) and
/// read by the `Trainer` between steps: it then saves a checkpoint of the step it just finished
/// and returns, so `--resume` continues exactly there.
public final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var requestedSignal: Int32?
    private var sources: [DispatchSourceSignal] = []

    public init() {}

    /// The signal that asked to stop (0 when asked by code), or nil while nobody has.
    public var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return requestedSignal
    }

    public var isRequested: Bool { signal != nil }

    /// Asks the trainer to stop after the current step. The first request wins.
    public func request(signal: Int32 = 0) {
        lock.lock()
        defer { lock.unlock() }
        if requestedSignal == nil { requestedSignal = signal }
    }

    /// Routes SIGINT and SIGTERM to this request instead of killing the process. A second signal
    /// of either kind, while the trainer is still finishing its step, ends the process at once with
    /// the default action (the previous checkpoint stays intact: saves are atomic).
    /// `onSignal` runs on a background queue, e.g. to tell the user a checkpoint is coming.
    public func catchInterrupts(_ signals: [Int32] = [SIGINT, SIGTERM], onSignal: @escaping @Sendable (Int32) -> Void = { _ in }) {
        let queue = DispatchQueue(label: "tasklora.signals")
        for sig in signals {
            // The dispatch source sees the signal only once the default action is off.
            setSignalAction(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if self.isRequested {
                    setSignalAction(sig, SIG_DFL)
                    raise(sig)
                    return
                }
                self.request(signal: sig)
                onSignal(sig)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The conventional exit status of a process ended by `signal`: 128 + its number (130 for
    /// SIGINT, 143 for SIGTERM), so shells and job schedulers see that the run did not finish.
    public static func exitStatus(signal: Int32) -> Int32 { signal > 0 ? 128 + signal : 1 }

    /// "SIGINT", "SIGTERM", or "signal N".
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case 0: return "a stop request"
        default: return "signal \(signal)"
        }
    }
}

/// signal(2); spelled out because `signal` is also a property name above.
private func setSignalAction(_ sig: Int32, _ action: (@convention(c) (Int32) -> Void)?) {
    #if canImport(Glibc)
    _ = Glibc.signal(sig, action)
    #else
    _ = Darwin.signal(sig, action)
    #endif
}
