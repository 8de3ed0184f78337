import Foundation
import Synchronization

/// A small in-process metrics registry that writes OpenMetrics text exactly as upstream 0.5 does.
///
/// Why not swift-prometheus: its exposition is the Prometheus 0.0.4 text format, where a counter's `# TYPE` line and
/// samples share one name. Upstream (Rust `prometheus-client`) writes OpenMetrics: the family name on HELP/TYPE, the
/// sample name with a `_total` suffix (hence `flat_manager_jobs_total_total`), help text with an added `.`, and a
/// closing `# EOF`. Dashboards built on upstream's names must keep working, so we write that format ourselves.
public final class MetricsRegistry: Sendable {
    /// OpenMetrics metric types we use.
    public enum MetricType: String, Sendable {
        case counter, gauge, histogram
    }

    struct Series: Sendable {
        var value: Double = 0
        var bucketCounts: [UInt64] = []
        var sum: Double = 0
        var count: UInt64 = 0

        /// A tally's observations (its bucket counts are per bucket, like ours).
        mutating func merge(_ tally: HistogramTally) {
            for (index, count) in tally.bucketCounts.enumerated() where bucketCounts.indices.contains(index) {
                bucketCounts[index] += count
            }
            sum += tally.sum
            count += tally.count
        }

        /// One observation of a histogram, counted in bucket `bucket` (none: only in `+Inf`).
        mutating func add(_ observed: Double, bucket: Int?) {
            if let bucket, bucketCounts.indices.contains(bucket) { bucketCounts[bucket] += 1 }
            sum += observed
            count += 1
        }
    }

    struct Family: Sendable {
        let name: String
        let help: String
        let type: MetricType
        let labelNames: [String]
        let buckets: [Double]
        var series: [[String]: Series] = [:]
    }

    private let state: Mutex<(order: [String], families: [String: Family])>

    public init() {
        state = Mutex((order: [], families: [:]))
    }

    /// The content type of `render()`'s output.
    public static let contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    /// Registers (or returns the already registered) counter family; samples are named `<name>_total`.
    public func counter(_ name: String, help: String, labels: [String]) -> CounterMetric {
        register(Family(name: name, help: help, type: .counter, labelNames: labels, buckets: []))
        return CounterMetric(registry: self, name: name)
    }

    /// Registers a gauge family.
    public func gauge(_ name: String, help: String, labels: [String]) -> GaugeMetric {
        register(Family(name: name, help: help, type: .gauge, labelNames: labels, buckets: []))
        return GaugeMetric(registry: self, name: name)
    }

    /// Registers a histogram family with the given upper bounds (`+Inf` is implied).
    public func histogram(_ name: String, help: String, labels: [String], buckets: [Double]) -> HistogramMetric {
        register(Family(name: name, help: help, type: .histogram, labelNames: labels, buckets: buckets.sorted()))
        return HistogramMetric(registry: self, name: name)
    }

    private func register(_ family: Family) {
        state.withLock { state in
            guard state.families[family.name] == nil else { return }
            state.order.append(family.name)
            state.families[family.name] = family
        }
    }

    func update(_ name: String, _ body: (inout Family) -> Void) {
        // In place: a copy of the family would copy its whole series dictionary on every request's update.
        state.withLock { state in
            guard let index = state.families.index(forKey: name) else { return }
            body(&state.families.values[index])
        }
    }

    /// The whole registry as OpenMetrics text, ending with `# EOF`.
    public func render() -> String {
        let families = state.withLock { state in state.order.compactMap { state.families[$0] } }
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(family.help).\n# TYPE \(family.name) \(family.type.rawValue)\n"
            for labels in family.series.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                guard let series = family.series[labels] else { continue }
                out += Self.lines(family: family, labels: labels, series: series)
            }
        }
        return out + "# EOF\n"
    }

    static func lines(family: Family, labels: [String], series: Series) -> String {
        let pairs = zip(family.labelNames, labels).map { "\($0)=\"\(escape($1))\"" }
        func sample(_ suffix: String, _ extra: [String], _ value: String) -> String {
            let all = pairs + extra
            let labelText = all.isEmpty ? "" : "{\(all.joined(separator: ","))}"
            return "\(family.name)\(suffix)\(labelText) \(value)\n"
        }
        switch family.type {
        case .counter:
            return sample("_total", [], number(series.value))
        case .gauge:
            return sample("", [], number(series.value))
        case .histogram:
            var text = sample("_sum", [], "\(series.sum)") + sample("_count", [], "\(series.count)")
            var cumulative: UInt64 = 0
            for (bound, count) in zip(family.buckets, series.bucketCounts) {
                cumulative += count
                text += sample(
                    "_bucket", ["le=\"\(bound.rounded() == bound ? "\(Int(bound)).0" : "\(bound)")\""], "\(cumulative)")
            }
            text += sample("_bucket", ["le=\"+Inf\""], "\(series.count)")
            return text
        }
    }

    /// Whole numbers without a fraction (as upstream's integer counters and gauges print).
    static func number(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return "\(Int64(value))" }
        return "\(value)"
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// A handle on one counter family of a `MetricsRegistry`.
public struct CounterMetric: Sendable {
    let registry: MetricsRegistry
    let name: String

    /// Adds `amount` to the series with these label values (in the family's label order).
    public func increment(_ labels: [String] = [], by amount: Double = 1) {
        registry.update(name) { $0.series[labels, default: .init()].value += amount }
    }
}

/// A handle on one gauge family of a `MetricsRegistry`.
public struct GaugeMetric: Sendable {
    let registry: MetricsRegistry
    let name: String

    /// Adds `amount` (negative to subtract) to one series.
    public func add(_ labels: [String] = [], _ amount: Double) {
        registry.update(name) { $0.series[labels, default: .init()].value += amount }
    }

    /// Sets one series.
    public func set(_ labels: [String] = [], _ value: Double) {
        registry.update(name) { $0.series[labels, default: .init()].value = value }
    }

    /// Replaces every series at once, so that a series that disappeared (a drained queue) does not read stale:
    /// it is dropped, or kept at 0 with `keepingOthersAtZero` (as upstream's gauges stay once a label set was seen).
    public func replaceAll(_ values: [[String]: Double], keepingOthersAtZero: Bool = false) {
        registry.update(name) { family in
            let others = keepingOthersAtZero ? family.series.mapValues { _ in MetricsRegistry.Series() } : [:]
            family.series = others.merging(values.mapValues { MetricsRegistry.Series(value: $0) }) { _, new in new }
        }
    }
}

/// Observations of one histogram series gathered by one thread, to be added to the registry in one go
/// (`HistogramMetric.add`): a hot path then takes the registry's lock once per batch instead of once per observation.
public struct HistogramTally: Sendable {
    public let buckets: [Double]
    var bucketCounts: [UInt64]
    var sum: Double = 0
    public private(set) var count: UInt64 = 0

    /// `buckets` are the family's upper bounds (`ServerMetrics.httpBuckets` for HTTP durations), in order.
    public init(buckets: [Double]) {
        self.buckets = buckets
        bucketCounts = Array(repeating: 0, count: buckets.count)
    }

    public mutating func add(_ value: Double) {
        if let index = Self.bucket(of: value, in: buckets) { bucketCounts[index] += 1 }
        sum += value
        count += 1
    }

    /// The first bucket whose upper bound `value` does not exceed (none: only `+Inf`), for tallies and the registry.
    static func bucket(of value: Double, in buckets: [Double]) -> Int? {
        buckets.firstIndex { value <= $0 }
    }

    mutating func reset() {
        for index in bucketCounts.indices { bucketCounts[index] = 0 }
        sum = 0
        count = 0
    }
}

/// A handle on one histogram family of a `MetricsRegistry`.
public struct HistogramMetric: Sendable {
    let registry: MetricsRegistry
    let name: String

    /// Adds the observations of `tally` (made with this family's buckets) to one series, and empties the tally.
    public func add(_ labels: [String], _ tally: inout HistogramTally) {
        guard tally.count > 0 else { return }
        let added = tally
        registry.update(name) { family in
            guard family.buckets == added.buckets else { return }
            family.series[labels, default: .init(bucketCounts: Array(repeating: 0, count: added.buckets.count))]
                .merge(added)
        }
        tally.reset()
    }

    /// Records one observation in one series.
    public func observe(_ labels: [String] = [], _ value: Double) {
        registry.update(name) { family in
            let bucket = HistogramTally.bucket(of: value, in: family.buckets)
            let bucketCount = family.buckets.count
            // Mutated in place through the defaulting subscript (no copy of the bucket counts).
            family.series[labels, default: .init(bucketCounts: Array(repeating: 0, count: bucketCount))].add(
                value, bucket: bucket)
        }
    }
}
