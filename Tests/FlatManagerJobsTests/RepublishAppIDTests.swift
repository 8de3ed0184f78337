import Testing

@testable import FlatManagerJobs

@Suite("Republish app id check")
struct RepublishAppIDTests {
    @Test(
        "an app id that could act as a path is refused by the job itself",
        arguments: [
            "org.test.Hello/../../../../etc", "..", "org.test..Hello", "org.test.Hello/x86_64", ".org.test", "org",
            "org.test.Hello\n", "org.tést.Hello", "",
        ])
    func pathLikeAppIDIsRefused(app: String) {
        // Act / Assert
        #expect(!RepublishJob.isPlausibleAppID(app))
    }

    @Test("ordinary flatpak app ids pass", arguments: ["org.test.Hello", "com.example.App_2", "io.git-hub.x-y"])
    func ordinaryAppIDPasses(app: String) {
        // Act / Assert
        #expect(RepublishJob.isPlausibleAppID(app))
    }
}
