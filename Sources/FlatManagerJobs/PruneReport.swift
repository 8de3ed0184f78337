import Foundation

/// What a prune dry run said would go (issue #15 part 3): parsed from `flatpak build-update-repo --prune-dry-run`'s
/// `Total objects: N` and `Deleted N objects, X freed` (or `No unreachable objects`) lines. The size is flatpak's
/// human figure (`1.2 MB`, SI units, three significant digits) turned back into bytes, so it is approximate.
public struct PruneReport: Codable, Sendable, Equatable {
    /// Objects in the repository before the prune.
    public var totalObjects: Int64
    /// Objects the prune would delete.
    public var objects: Int64
    /// Bytes it would free, approximately.
    public var bytes: Int64

    enum CodingKeys: String, CodingKey {
        case totalObjects = "total-objects"
        case objects
        case bytes
    }

    public init(totalObjects: Int64, objects: Int64, bytes: Int64) {
        self.totalObjects = totalObjects
        self.objects = objects
        self.bytes = bytes
    }

    /// The report in flatpak's output, or nil when the lines are not there.
    public init?(flatpakOutput text: String) {
        var total: Int64?
        var deleted: (Int64, Int64)?
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(separator: " ")
            if line.hasPrefix("Total objects:"), words.count >= 3 {
                total = Int64(words[2])
            } else if line.hasPrefix("Deleted "), words.count >= 5, let count = Int64(words[1]),
                let bytes = Self.bytes(number: String(words[3]), unit: String(words[4]))
            {
                deleted = (count, bytes)
            } else if line.hasPrefix("No unreachable objects") {
                deleted = (0, 0)
            }
        }
        guard let total, let deleted else { return nil }
        self.init(totalObjects: total, objects: deleted.0, bytes: deleted.1)
    }

    /// `1.0` `kB` → 1000; nil for anything unknown or out of range.
    static func bytes(number: String, unit: String) -> Int64? {
        let multipliers: [String: Double] = [
            "byte": 1, "bytes": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15, "EB": 1e18,
        ]
        guard let value = Double(number.replacingOccurrences(of: ",", with: ".")),
            let multiplier = multipliers[unit.trimmingCharacters(in: .punctuationCharacters)]
        else { return nil }
        let bytes = (value * multiplier).rounded()
        guard bytes.isFinite, bytes >= 0, bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }
}

extension PruneReport {
    /// The `dry-run` member of a prune job's stored `results`, if it has one.
    public init?(resultsJSON text: String) {
        struct Results: Decodable {
            var dryRun: PruneReport?
            enum CodingKeys: String, CodingKey { case dryRun = "dry-run" }
        }
        guard let report = (try? JSONDecoder().decode(Results.self, from: Data(text.utf8)))?.dryRun else { return nil }
        self = report
    }
}
