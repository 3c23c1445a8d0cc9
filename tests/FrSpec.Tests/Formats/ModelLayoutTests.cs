using FrSpec.Fuzzing;
using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Tests.Cli;

namespace FrSpec.Tests.Formats;

/// <summary>
/// Model folders as they exist on real disks load: files that are symbolic links (a Hugging Face cache snapshot links
/// every file into blobs/), sharded checkpoints with linked shards, GGUF files behind links, and read-only folders,
/// into which nothing is written.
/// </summary>
public class ModelLayoutTests
{
    private static readonly EngineOptions Options = new() { Threads = 1 };

    private static int[] Generate(string path)
    {
        using var m = LanguageModel.Load(path, Options);
        using var s = m.CreateSession();
        return s.Generate("hello world", new GenerationOptions { MaxNewTokens = 4 }).Ids;
    }

    /// <summary>
    /// The Hugging Face hub cache layout of <paramref name="source"/>'s files: models--org--name/blobs/&lt;hash&gt; holds the
    /// bytes, snapshots/&lt;commit&gt;/&lt;file&gt; are relative symbolic links to them, refs/main names the commit.
    /// </summary>
    internal static string HubCacheSnapshot(string source, string root)
    {
        string repo = Path.Combine(root, "models--org--tiny");
        string blobs = Path.Combine(repo, "blobs"), snapshot = Path.Combine(repo, "snapshots", "0123456789abcdef0123456789abcdef01234567");
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "0123456789abcdef0123456789abcdef01234567");
        foreach (var file in Directory.GetFiles(source))
        {
            string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file)));
            File.Copy(file, Path.Combine(blobs, hash), overwrite: true);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.Combine("..", "..", "blobs", hash));
        }
        return snapshot;
    }

    [Fact]
    public void A_model_safetensors_that_is_a_symbolic_link_loads()
    {
        string src = TestModels.NewTempDir(), dir = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(src);
        foreach (var f in Directory.GetFiles(src)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        string blob = Path.Combine(TestModels.NewTempDir(), "weights.bin");
        File.Move(Path.Combine(dir, "model.safetensors"), blob);
        File.CreateSymbolicLink(Path.Combine(dir, "model.safetensors"), blob);
        Assert.True(new FileInfo(Path.Combine(dir, "model.safetensors")).Length < 1000);   // the link's own size: what used to be read
        Assert.Equal(Generate(src), Generate(dir));
    }

    [Fact]
    public void A_hugging_face_cache_snapshot_loads_through_the_library_and_the_cli()
    {
        string src = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(src);
        string snapshot = HubCacheSnapshot(src, TestModels.NewTempDir());
        Assert.All(Directory.GetFiles(snapshot), f => Assert.NotNull(new FileInfo(f).LinkTarget));
        Assert.Equal(Generate(src), Generate(snapshot));
        var (code, error) = ErrorPathTests.Run("score", "--model", snapshot, "--ids", "296,104,101,108");
        Assert.True(code == 0, error);
    }

    [Fact]
    public void A_sharded_checkpoint_with_linked_shards_and_index_loads()
    {
        string src = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(src, maxShardBytes: 48 << 10);
        Assert.True(Directory.GetFiles(src, "model-*.safetensors").Length >= 3);
        string snapshot = HubCacheSnapshot(src, TestModels.NewTempDir());
        Assert.Equal(Generate(src), Generate(snapshot));
    }

    [Fact]
    public void A_linked_gguf_file_loads()
    {
        string src = TestModels.NewTempDir(), dir = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(src, FrSpec.Numerics.DType.F16);
        string gguf = Path.Combine(dir, "real.gguf");
        FrSpec.Formats.Gguf.GgufModelExporter.Export(src, gguf);
        string link = Path.Combine(TestModels.NewTempDir(), "model.gguf");
        File.CreateSymbolicLink(link, gguf);
        Assert.Equal(Generate(gguf), Generate(link));
    }

    [Fact]
    public void A_read_only_model_folder_loads_and_nothing_is_written_next_to_it()
    {
        if (OperatingSystem.IsWindows()) return; // POSIX permissions make the folder read-only; Windows uses ACLs
        string dir = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(dir);
        var before = Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order().Select(f => (f, File.GetLastWriteTimeUtc(f))).ToList();
        foreach (var f in Directory.GetFiles(dir)) File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        try
        {
            Generate(dir);
            var (code, error) = ErrorPathTests.Run("generate", "--model", dir, "--max-tokens", "3", "--json", "hello");
            Assert.True(code == 0, error);
        }
        finally
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var after = Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order().Select(f => (f, File.GetLastWriteTimeUtc(f))).ToList();
        Assert.Equal(before, after);
    }
}
