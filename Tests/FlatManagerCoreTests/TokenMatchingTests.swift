import FlatManagerCore
import Testing

@Suite("TokenMatching (api.md §9.4)")
struct TokenMatchingTests {
    /// One cell of the subject table.
    struct SubjectCell: Sendable, CustomTestStringConvertible {
        var tokenSub: String
        var required: String
        var matches: Bool
        var testDescription: String { "sub '\(tokenSub)' for '\(required)' → \(matches)" }
    }

    static let subjectTable: [SubjectCell] = {
        let required = ["build", "build/42", "", "delta"]
        let rows: [(String, [Bool])] = [
            ("build", [true, true, false, false]),
            ("build/42", [false, true, false, false]),
            ("build/4", [false, false, false, false]),
            ("", [false, false, true, false]),
            ("delta", [false, false, false, true]),
        ]
        return rows.flatMap { sub, answers in
            zip(required, answers).map { SubjectCell(tokenSub: sub, required: $0, matches: $1) }
        }
    }()

    @Test(arguments: subjectTable)
    func theSubjectRuleMatchesTheSpecTable(_ cell: SubjectCell) {
        #expect(TokenMatching.subjectMatches(tokenSub: cell.tokenSub, required: cell.required) == cell.matches)
    }

    /// One cell of the prefix table.
    struct PrefixCell: Sendable, CustomTestStringConvertible {
        var prefixes: [String]
        var apps: [String]
        var id: String
        var matches: Bool
        var testDescription: String { "prefixes \(prefixes) apps \(apps) for \(id) → \(matches)" }
    }

    static let prefixTable: [PrefixCell] = {
        let ids = ["org.foo", "org.foo.Bar", "org.foo.Bar.Debug", "org.foobar", "org"]
        let rows: [([String], [String], [Bool])] = [
            (["org.foo"], [], [true, true, true, false, false]),
            ([""], [], [true, true, true, true, true]),
            ([], [], [true, true, true, true, true]),
            (["org.bar"], ["org.foo.Bar"], [false, true, false, false, false]),
        ]
        return rows.flatMap { prefixes, apps, answers in
            zip(ids, answers).map { PrefixCell(prefixes: prefixes, apps: apps, id: $0, matches: $1) }
        }
    }()

    @Test(arguments: prefixTable)
    func thePrefixRuleMatchesTheSpecTable(_ cell: PrefixCell) {
        #expect(TokenMatching.idMatches(cell.id, prefixes: cell.prefixes, apps: cell.apps) == cell.matches)
    }

    @Test func anEmptyRepoListDeniesEveryRepo() {
        #expect(!TokenMatching.repoMatches("stable", repos: []))
    }

    @Test func anEmptyRepoEntryAllowsEveryRepo() {
        #expect(TokenMatching.repoMatches("stable", repos: [""]))
    }

    @Test func aListedRepoPassesAndAnUnlistedOneDoesNot() {
        #expect(TokenMatching.repoMatches("stable", repos: ["beta", "stable"]))
        #expect(!TokenMatching.repoMatches("stable", repos: ["beta"]))
    }

    @Test func requireReportsUpstreamMessages() {
        let claims = Claims(sub: "build/4", exp: 0, scope: ["upload"], prefixes: ["org.foo"], repos: ["beta"])

        #expect(throws: PermissionError("Not matching sub 'build/42' in token")) {
            try claims.require(sub: "build/42", scope: .upload)
        }
        #expect(throws: PermissionError("Not matching scope 'build' in token")) {
            try claims.require(sub: "build/4", scope: .build)
        }
        #expect(throws: PermissionError("Not matching repo in token")) { try claims.require(repo: "stable") }
        #expect(throws: PermissionError("Id org.bar not matching prefix in token")) {
            try claims.require(prefixFor: "org.bar")
        }
        #expect(PermissionError.noToken.message == "Not enough permissions: No token specified")
    }
}
