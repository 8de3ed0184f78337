import FlatManagerCore
import Testing

@Suite("ScreenshotOwner (0.5.3 screenshot binding)")
struct ScreenshotOwnerTests {
    static func claims(prefixes: [String]) -> Claims {
        Claims(sub: "build", exp: 0, scope: ["upload"], prefixes: prefixes, repos: [""])
    }

    @Test("a build's own app id owns its screenshots whatever refs it has")
    func buildAppIDOwnsScreenshots() {
        // Act
        let owner = ScreenshotOwner(
            arch: "x86_64", buildAppID: "org.test.Hello", refNames: ["app/org.other.App/x86_64/stable"])

        // Assert
        #expect(owner == .app("org.test.Hello"))
    }

    @Test("without an app id the one app ref of the same arch owns the screenshots")
    func singleAppRefOwnsScreenshots() {
        // Act
        let owner = ScreenshotOwner(
            arch: "x86_64", buildAppID: nil,
            refNames: [
                "app/org.test.Hello/x86_64/stable", "app/org.test.Hello/x86_64/beta",
                "app/org.test.Other/aarch64/stable",
                "runtime/org.test.Platform/x86_64/1", "screenshots/x86_64",
            ])

        // Assert
        #expect(owner == .app("org.test.Hello"))
    }

    @Test("without an app id and without an app ref of that arch the screenshots are unattributed")
    func noAppRefLeavesScreenshotsUnattributed() {
        // Act
        let owner = ScreenshotOwner(
            arch: "x86_64", buildAppID: nil, refNames: ["app/org.test.Hello/aarch64/stable", "runtime/org.x/x86_64/1"])

        // Assert
        #expect(owner == .unattributed)
    }

    @Test("several app ids of the same arch make the screenshots ambiguous")
    func severalAppRefsAreAmbiguous() {
        // Act
        let owner = ScreenshotOwner(
            arch: "x86_64", buildAppID: nil,
            refNames: ["app/org.test.B/x86_64/stable", "app/org.test.A/x86_64/stable"])

        // Assert
        #expect(owner == .ambiguous(["org.test.A", "org.test.B"]))
    }

    @Test("a token passes for the owning app's prefix and fails for another")
    func tokenMustCoverTheOwningApp() throws {
        // Act / Assert
        try Self.claims(prefixes: ["org.test"]).require(screenshotsOwner: .app("org.test.Hello"))
        #expect(throws: PermissionError.self) {
            try Self.claims(prefixes: ["org.other"]).require(screenshotsOwner: .app("org.test.Hello"))
        }
    }

    @Test("unattributed screenshots need global prefix access", arguments: [[""], [], ["org.test", ""]])
    func unattributedNeedsGlobalAccess(prefixes: [String]) throws {
        // Act / Assert
        try Self.claims(prefixes: prefixes).require(screenshotsOwner: .unattributed)
        #expect(throws: PermissionError.self) {
            try Self.claims(prefixes: ["org.test"]).require(screenshotsOwner: .unattributed)
        }
    }

    @Test("ambiguous screenshots are refused even for a global token")
    func ambiguousIsAlwaysRefused() {
        // Act / Assert
        #expect(throws: PermissionError.self) {
            try Self.claims(prefixes: [""]).require(screenshotsOwner: .ambiguous(["org.a", "org.b"]))
        }
    }
}
