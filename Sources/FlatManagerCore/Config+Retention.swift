/// A repo's `retention` (ours, issue #15 part 3): how many commits of each ref's history every prune of the repo
/// keeps, and how often a prune is queued by itself.
public struct RetentionConfig: Sendable, Equatable {
    /// `keep-commits`: the head and `keepCommits - 1` parents of every ref stay; older commits and the objects only
    /// they reach go.
    public var keepCommits: Int
    /// `prune-every-hours`: a fraction is allowed (tests use a few seconds).
    public var pruneEveryHours: Double

    public init(keepCommits: Int, pruneEveryHours: Double) {
        self.keepCommits = keepCommits
        self.pruneEveryHours = pruneEveryHours
    }

    /// The `--prune-depth` that keeps `keepCommits` commits (depth 0 keeps only the head).
    public var pruneDepth: Int { keepCommits - 1 }

    /// The schedule's period in whole seconds, at least one.
    public var intervalSeconds: Int64 { max(1, Int64((pruneEveryHours * 3600).rounded())) }

    /// Largest values accepted: ten thousand commits, ten years.
    static let keepCommitsRange = 1...10_000
    static let hoursRange = 0.0001...87_600.0
}

extension RetentionConfig: Decodable {
    private enum CodingKeys: String, CodingKey {
        case keepCommits = "keep-commits"
        case pruneEveryHours = "prune-every-hours"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.object(keyedBy: CodingKeys.self)
        keepCommits = try c.required(.keepCommits, .integer(in: Self.keepCommitsRange))
        pruneEveryHours = try c.required(.pruneEveryHours, .number(in: Self.hoursRange))
    }
}

extension ConfigValue where Value == Double {
    /// A finite number within `range` (fractions allowed); a string, NaN or a number beyond `range` is refused.
    static func number(in range: ClosedRange<Double>) -> Self {
        Self { decoder in
            guard let number = try? decoder.singleValueContainer().decode(Double.self), number.isFinite,
                range.contains(number)
            else {
                throw ConfigDecodingProblem(
                    at: decoder.codingPath, "expected a number in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
    }
}
