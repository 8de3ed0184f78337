import FlatManagerCore
import Foundation
import Testing

@testable import FlatManagerJobs

/// The dry-run report a prune with a retention keeps (issue #15 part 3), from flatpak's output to the job result.
@Suite("Prune report")
struct PruneReportTests {
    @Test("flatpak's dry-run lines give the total, the objects and the bytes that would go")
    func parsesFlatpakOutput() {
        // Arrange
        let output = "Pruning old commits (dry-run)\nTotal objects: 16\nDeleted 7 objects, 1.5 MB freed\n"

        // Act
        let report = PruneReport(flatpakOutput: output)

        // Assert
        #expect(report == PruneReport(totalObjects: 16, objects: 7, bytes: 1_500_000))
    }

    @Test("small sizes are in bytes; unknown units or missing lines give no report")
    func unitsAndMissingLines() {
        // Act, Assert
        #expect(PruneReport(flatpakOutput: "Total objects: 3\nDeleted 0 objects, 0 bytes freed")?.bytes == 0)
        #expect(
            PruneReport(flatpakOutput: "Total objects: 0\nNo unreachable objects\n")
                == PruneReport(totalObjects: 0, objects: 0, bytes: 0))
        #expect(PruneReport(flatpakOutput: "Total objects: 3\nDeleted 1 objects, 1 parsec freed") == nil)
        #expect(PruneReport(flatpakOutput: "Deleted 1 objects, 1 kB freed") == nil)
        #expect(PruneReport(flatpakOutput: "") == nil)
        #expect(PruneReport.bytes(number: "1e300", unit: "EB") == nil)
    }

    @Test("a retention prune's result carries depth and report, and the sampler reads the report back")
    func resultRoundTrip() throws {
        // Arrange
        let report = PruneReport(totalObjects: 16, objects: 7, bytes: 1000)

        // Act
        let json = try JobResultEncoder.json(PruneResult(depth: 1, dryRun: report))

        // Assert
        #expect(json == #"{"pruned":true,"depth":1,"dry-run":{"total-objects":16,"objects":7,"bytes":1000}}"#)
        #expect(PruneReport(resultsJSON: json) == report)
        #expect(try JobResultEncoder.json(PruneResult()) == #"{"pruned":true}"#)
        #expect(
            try JobResultEncoder.json(
                RollbackResult(
                    refs: RefCommits([.init(ref: "app/a.b/x86_64/stable", commit: "c2")]),
                    rolledBackTo: "c1", updateRepoJob: 9))
                == #"{"refs":{"app/a.b/x86_64/stable":"c2"},"rolled-back-to":"c1","update-repo-job":9}"#)
    }
}
