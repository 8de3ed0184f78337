import FlatManagerCore
import Testing

@testable import FlatManagerMetrics

@Suite("Metrics registry")
struct MetricsRegistryTests {
    @Test("a counter is written in upstream's OpenMetrics shape, with the _total suffix and help dot")
    func counterUsesUpstreamShape() {
        // Arrange
        let metrics = ServerMetrics()

        // Act
        metrics.jobFinished(Job(id: 1, kind: .commit, contents: "{}"), status: .ended, seconds: 2)
        let text = metrics.registry.render()

        // Assert
        #expect(text.contains("# HELP flat_manager_jobs_total Total number of finished jobs..\n"))
        #expect(text.contains("# TYPE flat_manager_jobs_total counter\n"))
        #expect(text.contains("flat_manager_jobs_total_total{kind=\"commit\",status=\"ended\",repo=\"global\"} 1\n"))
        #expect(text.hasSuffix("# EOF\n"))
    }

    @Test("fast-path answers added as one tally read exactly as the same answers recorded one by one")
    func fastPathTallyEqualsSingleObservations() {
        // Arrange
        let single = ServerMetrics()
        let tallied = ServerMetrics()
        let answers: [(get: Bool, seconds: Double)] = [
            (true, 0.0001), (true, 0.004), (false, 0.02), (true, 0.3), (true, 7), (false, 100), (true, 0.005),
        ]
        var tally = ServerMetrics.FastPathTally()

        // Act
        for answer in answers {
            single.requestAnswered(
                method: answer.get ? "GET" : "HEAD", route: "/repo/**", status: 200, seconds: answer.seconds)
            tally.answered(get: answer.get, seconds: answer.seconds)
        }
        single.httpFastPath.increment(by: Double(answers.count))
        tallied.fastPathAnswered(&tally)
        tallied.fastPathAnswered(&tally)  // Emptied: adds nothing twice.

        // Assert
        #expect(tally.count == 0)
        #expect(tallied.registry.render() == single.registry.render())
        #expect(tallied.registry.render().contains("flat_manager_http_fast_path_responses_total 7\n"))
    }

    @Test("a histogram writes sum, count and cumulative buckets ending with +Inf")
    func histogramIsCumulative() {
        // Arrange
        let registry = MetricsRegistry()
        let histogram = registry.histogram("h", help: "H", labels: ["k"], buckets: [1, 5])

        // Act
        histogram.observe(["a"], 0.5)
        histogram.observe(["a"], 3)
        histogram.observe(["a"], 9)
        let text = registry.render()

        // Assert
        #expect(text.contains("h_sum{k=\"a\"} 12.5\nh_count{k=\"a\"} 3\n"))
        #expect(text.contains("h_bucket{k=\"a\",le=\"1.0\"} 1\nh_bucket{k=\"a\",le=\"5.0\"} 2\n"))
        #expect(text.contains("h_bucket{k=\"a\",le=\"+Inf\"} 3\n"))
    }

    @Test("replacing a gauge's series drops the ones no longer present")
    func replaceAllDropsOldSeries() {
        // Arrange
        let registry = MetricsRegistry()
        let gauge = registry.gauge("g", help: "G", labels: ["repo"])
        gauge.set(["old"], 4)

        // Act
        gauge.replaceAll([["new"]: 2])
        let text = registry.render()

        // Assert
        #expect(!text.contains("repo=\"old\""))
        #expect(text.contains("g{repo=\"new\"} 2\n"))
    }

    @Test("replacing a gauge's series while keeping the others keeps them at zero, as upstream's queue gauge does")
    func replaceAllCanKeepOldSeriesAtZero() {
        // Arrange
        let registry = MetricsRegistry()
        let gauge = registry.gauge("g", help: "G", labels: ["repo"])
        gauge.set(["old"], 4)

        // Act
        gauge.replaceAll([["new"]: 2], keepingOthersAtZero: true)
        let text = registry.render()

        // Assert
        #expect(text.contains("g{repo=\"old\"} 0\n"))
        #expect(text.contains("g{repo=\"new\"} 2\n"))
    }

    @Test("label values are escaped")
    func labelValuesAreEscaped() {
        // Arrange
        let registry = MetricsRegistry()
        let counter = registry.counter("c", help: "C", labels: ["v"])

        // Act
        counter.increment(["a\"b\\c"])

        // Assert
        #expect(registry.render().contains("c_total{v=\"a\\\"b\\\\c\"} 1\n"))
    }
}
