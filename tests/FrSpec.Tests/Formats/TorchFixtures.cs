using System.Text.Json;

namespace FrSpec.Tests.Formats;

/// <summary>Locates tests/FrSpec.Tests/Fixtures/torch (made by make_fixtures.py with torch 1.13) from the test binaries.</summary>
internal static class TorchFixtures
{
    public static string Dir { get; } = Find();

    public static string PathOf(string name) => System.IO.Path.Combine(Dir, name);

    public static JsonElement Expected(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(PathOf("expected.json")));
        return doc.RootElement.GetProperty(name).Clone();
    }

    private static string Find()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            var candidate = System.IO.Path.Combine(d.FullName, "tests", "FrSpec.Tests", "Fixtures", "torch");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/FrSpec.Tests/Fixtures/torch not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A fresh temporary directory, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("frspec-test-").FullName;
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }
}
