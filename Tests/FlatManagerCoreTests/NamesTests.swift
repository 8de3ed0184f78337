import FlatManagerCore
import Foundation
import Testing

/// The name grammar requests are checked against (issue #10): flatpak's rules for ids, arches and branches, ours
/// for repository, check and extra-id names, and ref names made of them.
@Suite("Validated names")
struct NamesTests {
    static let overlong = "org.test." + String(repeating: "a", count: 247)

    @Test(
        "app ids of flatpak's grammar are accepted",
        arguments: [
            "org.test.Hello", "org.test.Platform", "org.test.Hello.Locale", "org.example.App-symbolic",
            "com.github._5x.Tool", "io.github.user.App_2", "org.test.-dash", String(overlong.dropLast()),
        ])
    func goodAppIDs(text: String) {
        // Act
        let id = AppID(text)

        // Assert
        #expect(id?.rawValue == text)
    }

    @Test(
        "app ids outside flatpak's grammar are refused",
        arguments: [
            "", ".", "..", "org", "org.test", "org..Hello", ".org.test.Hello", "org.test.Hello.", "org.test.Hello/..",
            "org.test.Hello/../../../../etc", "../org.test.Hello", "org.test.1Hello", "org.1test.Hello",
            "org-x.test.Hello", "org.te-st.Hello", "-org.test.Hello", "org.test.Hel lo", "org.test.Hello\0",
            "org.test.Hellö", "org.test.Hello\n", "/org.test.Hello", "org.test.He*llo", overlong,
        ])
    func badAppIDs(text: String) {
        // Act
        let id = AppID(text)

        // Assert
        #expect(id == nil, "\(text.debugDescription) was accepted")
    }

    @Test("arches are [A-Za-z0-9_]+", arguments: ["x86_64", "aarch64", "i386", "arm", "ARM_v7"])
    func goodArches(text: String) {
        #expect(Arch(text)?.rawValue == text)
    }

    @Test(
        "arches with anything else are refused",
        arguments: [
            "", ".", "..", "x86-64", "x86.64", "-x86_64", "x86_64/", "x86\0", "ärm", String(repeating: "a", count: 256),
        ])
    func badArches(text: String) {
        #expect(Arch(text) == nil, "\(text.debugDescription) was accepted")
    }

    @Test(
        "branches of flatpak's grammar are accepted",
        arguments: ["stable", "beta", "1.0", "23.08", "master", "_x", "3-rc.1"])
    func goodBranches(text: String) {
        #expect(Branch(text)?.rawValue == text)
    }

    @Test(
        "branches that start with '.' or '-', or hold other bytes, are refused",
        arguments: [
            "", ".", "..", "-stable", ".stable", "sta/ble", "sta ble", "stable\0", "stäble", "a:b",
            String(repeating: "b", count: 256),
        ])
    func badBranches(text: String) {
        #expect(Branch(text) == nil, "\(text.debugDescription) was accepted")
    }

    @Test(
        "repository and check names are simple names",
        arguments: ["stable", "beta", "flathub-beta", "repo_2", "v1.0", "lint"])
    func goodSimpleNames(text: String) {
        #expect(RepoName(text)?.rawValue == text)
        #expect(CheckName(text)?.rawValue == text)
    }

    @Test(
        "repository and check names with paths, odd starts or odd bytes are refused",
        arguments: ["", ".", "..", "../stable", "sta/ble", "-stable", ".hidden", "stable\0", "stäble", "a b", "a%2F"])
    func badSimpleNames(text: String) {
        #expect(RepoName(text) == nil, "\(text.debugDescription) was accepted as a repo name")
        #expect(CheckName(text) == nil, "\(text.debugDescription) was accepted as a check name")
    }

    @Test("extra ids are dot-separated ASCII alphanumerics", arguments: ["Free", "Sub.Set", "a1.B2"])
    func goodExtraIDs(text: String) {
        #expect(ExtraID(text)?.rawValue == text)
    }

    @Test(
        "extra ids with empty elements, dashes, underscores or non-ASCII letters are refused",
        arguments: ["", ".", "a..b", ".a", "a.", "a-b", "a_b", "Frée", "a/b", "a\0"])
    func badExtraIDs(text: String) {
        #expect(ExtraID(text) == nil, "\(text.debugDescription) was accepted")
    }

    @Test(
        "honest ref names parse into their parts",
        arguments: [
            ("app/org.test.Hello/x86_64/stable", RefName.app(id: "org.test.Hello", arch: "x86_64", branch: "stable")),
            (
                "runtime/org.test.Platform/x86_64/1.0",
                RefName.runtime(id: "org.test.Platform", arch: "x86_64", branch: "1.0")
            ),
            (
                "runtime/org.test.Hello.Locale/aarch64/stable",
                RefName.runtime(id: "org.test.Hello.Locale", arch: "aarch64", branch: "stable")
            ),
            ("screenshots/x86_64", RefName.screenshots(arch: "x86_64")),
        ])
    func goodRefNames(text: String, expected: RefName) {
        #expect(RefName(text) == expected)
    }

    @Test(
        "ref names with a bad element are refused",
        arguments: [
            "app/org.test.Hello/../-stable", "app/org.test.Hello/x86_64/-stable", "app/org.test.Hello/x86_64/..",
            "app/../x86_64/stable", "app/org.test.Hello/x86_64", "app/org.test.Hello/x86_64/stable/",
            "app//x86_64/stable", "app/org.test.Hello//stable", "app/org.test.Hello/x86_64/", "app/org.x/x86_64/stable",
            "runtime/org.test.Hello/x86_64/sta\0ble", "screenshots/..", "screenshots/", "screenshots/x86_64/x",
            "other/org.test.Hello/x86_64/stable", "/app/org.test.Hello/x86_64/stable",
            "app/org.test.Hellö/x86_64/stable",
            "", "app/\(overlong)/x86_64/stable",
        ])
    func badRefNames(text: String) {
        #expect(RefName(text) == nil, "\(text.debugDescription) was accepted")
    }

    @Test("a configured repository name outside the grammar is a config error naming the key")
    func configRefusesOddRepoNames() throws {
        // Arrange
        let fixture = try ConfigFixture()
        let json = """
            {"secret": "c2VjcmV0", "build-repo-base": "build-repo", "repos": {"-stable": {"path": "repo", "subsets": {}}}}
            """

        // Act
        let error = fixture.error(json)

        // Assert
        #expect(error?.key == "repos.-stable")
    }

    @Test("a configured check name outside the grammar is a config error naming the key")
    func configRefusesOddCheckNames() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(
            ConfigFixture.minimal(extraRepo: #", "hooks": {"checks": {"../lint": {"command": ["true"]}}}"#))

        // Assert
        #expect(error?.key == "repos.stable.hooks.checks.../lint")
    }

    @Test("status-requires-token is off by default, read when set, and must be a boolean")
    func statusRequiresToken() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let plain = try fixture.parse(ConfigFixture.minimal())
        let enabled = try fixture.parse(ConfigFixture.minimal(extraTop: #", "status-requires-token": true"#))
        let wrong = fixture.error(ConfigFixture.minimal(extraTop: #", "status-requires-token": "yes""#))

        // Assert
        #expect(plain.statusRequiresToken == false)
        #expect(enabled.statusRequiresToken == true)
        #expect(wrong?.key == "status-requires-token")
    }
}
