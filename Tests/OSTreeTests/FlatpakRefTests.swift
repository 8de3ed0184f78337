import FlatManagerCore
import OSTree
import TestSupport
import Testing

@Suite("FlatpakRef")
struct FlatpakRefTests {
    @Test func buildVariantPointsAtTheBuildRepo() {
        let text = FlatpakRef.build(
            id: "org.test.App", branch: "stable", isRuntime: false, buildID: 12, baseURL: "https://fm.example",
            gpgKey: "AAAA", runtimeRepoURL: nil)
        #expect(
            text == """
                [Flatpak Ref]
                Name=org.test.App
                Branch=stable
                Title=org.test.App build nr 12
                IsRuntime=false
                Url=https://fm.example/build-repo/12
                GPGKey=AAAA

                """)
    }

    @Test func runtimeRepoIsFollowedByAnEmptyLine() {
        let text = FlatpakRef.build(
            id: "org.test.Platform", branch: "1", isRuntime: true, buildID: 3, baseURL: "http://h", gpgKey: nil,
            runtimeRepoURL: "https://dl.example/repo.flatpakrepo")
        #expect(
            text.hasSuffix(
                "IsRuntime=true\nUrl=http://h/build-repo/3\nRuntimeRepo=https://dl.example/repo.flatpakrepo\n\n"))
        #expect(!text.contains("GPGKey"))
    }

    @Test(.enabled(if: TestEnvironment.hasOSTree))
    func mainRepoVariantUsesTheRepoSettings() async throws {
        try await withTemporaryDirectory { directory in
            try await OSTreeFixtures.run("ostree", "init", "--repo=\(directory)", "--mode=archive-z2")
            let repo = try OSTreeFixtures.repoConfig(
                path: directory,
                extra: """
                    "collection-id": "org.test.Repo", "deploy-collection-id": true, "suggested-repo-name": "testrepo",
                    "runtime-repo-url": "https://dl/runtime.flatpakrepo"
                    """)

            let text = FlatpakRef.mainRepo(
                id: "org.test.App", branch: "stable", isRuntime: false, repo: repo, serverBaseURL: "http://fm",
                gpgKey: "KEY")

            #expect(
                text == """
                    [Flatpak Ref]
                    Name=org.test.App
                    Branch=stable
                    Title=org.test.App from testrepo
                    IsRuntime=false
                    Url=http://fm/repo/stable
                    DeployCollectionID=org.test.Repo
                    SuggestRemoteName=testrepo
                    GPGKey=KEY
                    RuntimeRepo=https://dl/runtime.flatpakrepo


                    """)
        }
    }

    @Test(.enabled(if: TestEnvironment.hasOSTree))
    func mainRepoVariantFallsBackToTheRepoName() async throws {
        try await withTemporaryDirectory { directory in
            try await OSTreeFixtures.run("ostree", "init", "--repo=\(directory)", "--mode=archive-z2")
            let repo = try OSTreeFixtures.repoConfig(
                path: directory, extra: "\"collection-id\": \"org.test.Repo\", \"base-url\": \"https://cdn/r\"")

            let text = FlatpakRef.mainRepo(
                id: "org.test.App", branch: "stable", isRuntime: false, repo: repo, serverBaseURL: "http://fm",
                gpgKey: nil)

            #expect(text.contains("Title=org.test.App from stable\n"))
            #expect(text.contains("Url=https://cdn/r\n"))
            #expect(!text.contains("DeployCollectionID"))
            #expect(!text.contains("SuggestRemoteName"))
            #expect(text.hasSuffix("Url=https://cdn/r\n"))
        }
    }
}
