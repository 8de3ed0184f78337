import Foundation
import OSTree
import Testing

/// The pure rules of `MetadataLint`: a flatpak-made commit passes, each disagreement is named, hostile input
/// gives problems rather than a trap.
@Suite("MetadataLint")
struct MetadataLintTests {
    static let ref = "app/org.x.App/x86_64/stable"
    static let text = """
        [Application]
        name=org.x.App
        runtime=org.x.Platform/x86_64/1
        sdk=org.x.Platform/x86_64/1

        """

    /// What `flatpak build-export` writes for `ref` with metadata `text`.
    static func commit(ref: String = ref, text: String = text) -> [String: GVariantValue] {
        ["xa.ref": .string(ref), "ostree.ref-binding": .stringArray([ref]), "xa.metadata": .string(text)]
    }

    static func problems(
        ref: String = ref, commit: [String: GVariantValue] = commit(), file: String? = text, buildAppID: String? = nil
    ) -> [String] {
        MetadataLint.problems(
            ref: ref, commit: commit, metadataFile: file.map { Array($0.utf8) }, buildAppID: buildAppID)
    }

    @Test func aCommitAsFlatpakMakesItPasses() {
        #expect(Self.problems(buildAppID: "org.x.App").isEmpty)
    }

    @Test func aRuntimeNamingItselfPasses() {
        let ref = "runtime/org.x.Platform/x86_64/1"
        let text = "[Runtime]\nname=org.x.Platform\nruntime=org.x.Platform/x86_64/1\nsdk=org.x.Sdk/x86_64/1\n"

        #expect(Self.problems(ref: ref, commit: Self.commit(ref: ref, text: text), file: text).isEmpty)
    }

    @Test func xaMetadataDisagreeingWithTheFileIsNamed() {
        let file = Self.text + "[Context]\nfilesystems=host;\n"

        let problems = Self.problems(file: file)

        #expect(problems == ["xa.metadata of the commit disagrees with the /metadata file in its tree"])
    }

    @Test func aNulByteInTheFileIsNamed() {
        let file = Self.text + "\u{0}[Context]\nfilesystems=host;\n"

        let problems = Self.problems(file: file)

        #expect(problems == ["the /metadata file of the tree contains a NUL byte"])
    }

    @Test func aNulByteInXaMetadataIsNamed() {
        var commit = Self.commit()
        commit["xa.metadata"] = .other(type: "s", data: Array("[Application]\u{0}x".utf8) + [0])

        let problems = Self.problems(commit: commit)

        #expect(problems == ["xa.metadata of the commit contains a NUL byte"])
    }

    @Test func aCommitMadeForAnotherBranchIsNamed() {
        let other = "app/org.x.App/x86_64/beta"

        let problems = Self.problems(commit: Self.commit(ref: other))

        #expect(problems.count == 2)
        #expect(problems.first == "the commit was made for '\(other)' (xa.ref), not \(Self.ref)")
        #expect(problems.last == "the commit is bound to ['\(other)'] (ostree.ref-binding), not \(Self.ref)")
    }

    @Test func aRuntimeOfAnotherArchIsNamed() {
        let text = Self.text.replacingOccurrences(of: "org.x.Platform/x86_64/1", with: "org.x.Platform/aarch64/1")

        let problems = Self.problems(commit: Self.commit(text: text), file: text)

        #expect(
            problems == [
                "the metadata's runtime=org.x.Platform/aarch64/1 is for arch aarch64, the ref for x86_64",
                "the metadata's sdk=org.x.Platform/aarch64/1 is for arch aarch64, the ref for x86_64",
            ])
    }

    @Test func anAppIDOtherThanTheBuildsIsNamed() {
        let problems = Self.problems(buildAppID: "org.y.Other")

        #expect(problems == ["the app id org.x.App of ref \(Self.ref) is not the build's app id org.y.Other"])
    }

    @Test func metadataNamingAnotherAppIsNamed() {
        let text = Self.text.replacingOccurrences(of: "name=org.x.App", with: "name=org.y.Other")

        let problems = Self.problems(commit: Self.commit(text: text), file: text)

        #expect(problems == ["the metadata names 'org.y.Other', the ref org.x.App"])
    }

    @Test func missingMetadataIsNamed() {
        let problems = MetadataLint.problems(
            ref: Self.ref, commit: [:], metadataFile: nil, unreadable: "No such file", buildAppID: nil)

        #expect(
            problems == [
                "the commit has no xa.metadata", "the /metadata file of the tree cannot be read (No such file)",
            ])
    }

    @Test func screenshotsRefsAreNotAskedForMetadata() {
        let problems = MetadataLint.problems(
            ref: "screenshots/x86_64", commit: [:], metadataFile: nil, buildAppID: "org.x.App")

        #expect(problems.isEmpty)
    }

    @Test func controlCharactersOfUploadedTextNeverReachTheLog() {
        let text = Self.text.replacingOccurrences(of: "name=org.x.App", with: "name=\u{1b}[31mevil\u{7}")

        let problems = Self.problems(commit: Self.commit(text: text), file: text)

        #expect(problems == ["the metadata names '?[31mevil?', the ref org.x.App"])
    }

    @Test func hostileValuesGiveProblemsNotTraps() {
        let garbage: [String] = ["", "[", "]", "=", "[Application", "name", "runtime=/", "runtime=a/b/c/d", "\u{0}"]
        for text in garbage {
            let commit = Self.commit(text: text)
            _ = Self.problems(commit: commit, file: text)
            _ = Self.problems(commit: ["xa.ref": .other(type: "ay", data: [0xff, 0])], file: text)
        }
        #expect(!Self.problems(commit: Self.commit(text: "[Application]\nruntime=a/b\n"), file: "x").isEmpty)
    }
}
