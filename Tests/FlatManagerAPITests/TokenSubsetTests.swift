import FlatManagerCore
import Testing

@testable import FlatManagerAPI

/// api.md §9.7: a subset token never grants more than its parent, claim by claim.
@Suite("TokenController.subset")
struct TokenSubsetTests {
    static let now: Int64 = 1_800_000_000

    static let parent = Claims(
        sub: "build/7", exp: now + 3600, name: "ci", jti: "ci-1", scope: ["build", "upload"],
        prefixes: ["org.test"], apps: ["org.other.App"], repos: ["stable"], branches: ["stable"], tokenType: "app")

    static func request(
        sub: String = "build/7", scope: [String] = ["upload"], duration: Int64 = 600, prefixes: [String]? = nil,
        apps: [String]? = nil, repos: [String]? = nil
    ) -> TokenSubsetRequest {
        TokenSubsetRequest(
            sub: sub, scope: scope, duration: duration, name: "narrow", prefixes: prefixes, apps: apps, repos: repos)
    }

    @Test("a narrower request keeps the parent's id, branches and token type and lives no longer than asked")
    func narrowerRequestIsGranted() throws {
        // Arrange
        let request = Self.request(prefixes: ["org.test.Hello"], apps: [], repos: ["stable"])

        // Act
        let claims = try #require(TokenController.subset(of: Self.parent, request: request, now: Self.now))

        // Assert
        #expect(claims.sub == "build/7")
        #expect(claims.scope == ["upload"])
        #expect(claims.prefixes == ["org.test.Hello"])
        #expect(claims.apps == [])
        #expect(claims.repos == ["stable"])
        #expect(claims.branches == ["stable"])
        #expect(claims.tokenType == "app")
        #expect(claims.jti == "ci-1")
        #expect(claims.name == "ci/narrow")
        #expect(claims.exp == Self.now + 600)
    }

    @Test("omitted lists are inherited, never widened")
    func omittedListsAreInherited() throws {
        // Act
        let claims = try #require(TokenController.subset(of: Self.parent, request: Self.request(), now: Self.now))

        // Assert
        #expect(claims.prefixes == Self.parent.prefixes)
        #expect(claims.apps == Self.parent.apps)
        #expect(claims.repos == Self.parent.repos)
    }

    @Test(
        "a request that would widen any claim is refused",
        arguments: [
            ("longer lifetime", TokenSubsetTests.request(duration: 3601)),
            ("wider subject", TokenSubsetTests.request(sub: "build")),
            ("other build", TokenSubsetTests.request(sub: "build/8")),
            ("extra scope", TokenSubsetTests.request(scope: ["upload", "publish"])),
            ("wider prefix", TokenSubsetTests.request(prefixes: ["org"])),
            ("empty prefix", TokenSubsetTests.request(prefixes: [""])),
            ("no prefix list, which allows every id", TokenSubsetTests.request(prefixes: [])),
            ("sibling prefix", TokenSubsetTests.request(prefixes: ["org.testing"])),
            ("app not in the parent", TokenSubsetTests.request(apps: ["org.evil.App"])),
            ("other repo", TokenSubsetTests.request(repos: ["beta"])),
            ("every repo", TokenSubsetTests.request(repos: [""])),
        ])
    func wideningIsRefused(what: String, request: TokenSubsetRequest) {
        // Act
        let claims = TokenController.subset(of: Self.parent, request: request, now: Self.now)

        // Assert
        #expect(claims == nil, "\(what) was granted")
    }

    @Test("a subset of a subset cannot get back what the middle token gave up")
    func chainsOnlyNarrow() throws {
        // Arrange
        let middle = try #require(
            TokenController.subset(
                of: Self.parent, request: Self.request(duration: 60, prefixes: ["org.test.Hello"]), now: Self.now))

        // Act
        let back = TokenController.subset(
            of: middle, request: Self.request(duration: 600, prefixes: ["org.test"]), now: Self.now)
        let longer = TokenController.subset(of: middle, request: Self.request(duration: 61), now: Self.now)

        // Assert
        #expect(back == nil)
        #expect(longer == nil)
    }

    @Test(
        "a duration whose end lies beyond Int64 is refused like any longer lifetime, not computed",
        arguments: [Int64.max, Int64.max - Self.now + 1])
    func overflowingDurationIsRefused(duration: Int64) {
        // Arrange
        var parent = Self.parent
        parent.exp = .max

        // Act
        let claims = TokenController.subset(of: parent, request: Self.request(duration: duration), now: Self.now)

        // Assert
        #expect(claims == nil)
    }

    @Test("the largest duration that still fits is granted when the parent never expires")
    func largestFittingDurationIsGranted() throws {
        // Arrange
        var parent = Self.parent
        parent.exp = .max

        // Act
        let claims = try #require(
            TokenController.subset(of: parent, request: Self.request(duration: .max - Self.now), now: Self.now))

        // Assert
        #expect(claims.exp == .max)
    }
}

/// The opt-in `enforce-branches` hardening.
@Suite("Branch enforcement")
struct BranchEnforcementTests {
    static func claims(_ branches: [String]) -> Claims {
        Claims(sub: "build", exp: 0, branches: branches)
    }

    @Test("when off, any branch passes whatever the claim says")
    func offAllowsEverything() throws {
        // Arrange
        let ref = try #require(RefName("app/org.test.Hello/x86_64/beta"))

        // Act / Assert
        #expect(throws: Never.self) {
            try BranchEnforcement.check(ref, claims: Self.claims(["stable"]), enabled: false)
        }
    }

    @Test("when on, only listed branches pass; an empty entry allows all and screenshots have no branch")
    func onChecksTheClaim() throws {
        // Arrange
        let beta = try #require(RefName("app/org.test.Hello/x86_64/beta"))
        let stable = try #require(RefName("runtime/org.test.Platform/x86_64/stable"))
        let screenshots = try #require(RefName("screenshots/x86_64"))

        // Act / Assert
        #expect(throws: PermissionError.self) {
            try BranchEnforcement.check(beta, claims: Self.claims(["stable"]), enabled: true)
        }
        #expect(throws: PermissionError.self) {
            try BranchEnforcement.check(beta, claims: Self.claims([]), enabled: true)
        }
        #expect(throws: Never.self) {
            try BranchEnforcement.check(stable, claims: Self.claims(["stable"]), enabled: true)
        }
        #expect(throws: Never.self) {
            try BranchEnforcement.check(beta, claims: Self.claims([""]), enabled: true)
        }
        #expect(throws: Never.self) {
            try BranchEnforcement.check(screenshots, claims: Self.claims([]), enabled: true)
        }
    }
}
