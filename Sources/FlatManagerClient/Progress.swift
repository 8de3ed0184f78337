import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Upload progress. On a terminal: one redrawn line with a bar, objects, bytes, rate and ETA. Otherwise: the
/// reference client's plain `Uploading <n> files (<bytes> bytes)` line per request, so logs and scripts see what
/// they always saw.
final class UploadProgress: Sendable {
    let totalObjects: Int
    let totalBytes: Int64
    let terminal: Bool
    private let start = ContinuousClock.now
    private let state = Mutex(State())

    private struct State {
        var objects = 0
        var bytes: Int64 = 0
        var lastDraw: ContinuousClock.Instant?
    }

    init(totalObjects: Int, totalBytes: Int64, terminal: Bool = Console.stdoutIsTerminal) {
        self.totalObjects = totalObjects
        self.totalBytes = totalBytes
        self.terminal = terminal
        if terminal { draw(objects: 0, bytes: 0) }
    }

    /// A request is about to be sent.
    func starting(count: Int, bytes: Int64) {
        if !terminal { Console.line("Uploading \(count) files (\(bytes) bytes)") }
    }

    /// A request's objects were stored by the server.
    func stored(count: Int, bytes: Int64) {
        guard terminal else { return }
        let snapshot: (Int, Int64)? = state.withLock { state in
            state.objects += count
            state.bytes += bytes
            let now = ContinuousClock.now
            // Redraw at most ten times a second; the last update always draws.
            if let last = state.lastDraw, now - last < .milliseconds(100), state.objects < totalObjects {
                return nil
            }
            state.lastDraw = now
            return (state.objects, state.bytes)
        }
        if let (objects, bytes) = snapshot { draw(objects: objects, bytes: bytes) }
    }

    /// Ends the bar's line.
    func finish() {
        guard terminal else { return }
        let (objects, bytes) = state.withLock { ($0.objects, $0.bytes) }
        draw(objects: objects, bytes: bytes)
        Console.write("\n")
    }

    private func draw(objects: Int, bytes: Int64) {
        let elapsed = Self.seconds(ContinuousClock.now - start)
        let line = Self.render(
            objects: objects, totalObjects: totalObjects, bytes: bytes, totalBytes: totalBytes, elapsed: elapsed,
            width: Console.terminalWidth)
        Console.write("\r" + line + "\u{1B}[K")
    }

    /// The bar line, e.g. `[#######.......]  45% 10234/24000 objects  230.1 MB/503.3 MB  56.2 MB/s  ETA 0:05`.
    static func render(
        objects: Int, totalObjects: Int, bytes: Int64, totalBytes: Int64, elapsed: Double, width: Int
    ) -> String {
        let fraction = totalBytes > 0 ? Double(bytes) / Double(totalBytes) : (totalObjects > 0 ? 1 : 0)
        let rate = elapsed > 0 ? Double(bytes) / elapsed : 0
        let eta = rate > 0 ? Double(totalBytes - bytes) / rate : nil
        let text =
            String(format: "%3d%% ", Int(fraction * 100)) + "\(objects)/\(totalObjects) objects  "
            + "\(size(bytes))/\(size(totalBytes))  \(size(Int64(rate)))/s  ETA \(eta.map(clock) ?? "--:--")"
        let barWidth = max(10, min(40, width - text.count - 3))
        let filled = min(barWidth, Int(fraction * Double(barWidth)))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "] "
            + text
    }

    /// `512 B`, `12.3 kB`, `230.1 MB`, `1.2 GB`.
    static func size(_ bytes: Int64) -> String {
        let value = Double(bytes)
        if value < 1000 { return "\(bytes) B" }
        if value < 1_000_000 { return String(format: "%.1f kB", value / 1000) }
        if value < 1_000_000_000 { return String(format: "%.1f MB", value / 1_000_000) }
        return String(format: "%.2f GB", value / 1_000_000_000)
    }

    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        return String(format: "%d:%02d", whole / 60, whole % 60)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
