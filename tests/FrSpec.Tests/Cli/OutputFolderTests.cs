using System.Diagnostics;
using System.Text;
using FrSpec.Cli.Support;
using FrSpec.Fuzzing;

namespace FrSpec.Tests.Cli;

/// <summary>
/// Nothing is lost: output folders holding files are not replaced without --force, outputs appear only complete, no
/// output name escapes its folder, no output replaces an input, and a run killed halfway leaves the previous results.
/// </summary>
public class OutputFolderTests
{
    private static (int Code, string Error) Run(params string[] args) => ErrorPathTests.Run(args);

    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    private static (string Dir, string Tokenizer, string Corpus) FreqSetup()
    {
        string dir = TestModels.NewTempDir();
        string tok = FuzzSeeds.WriteTokenizer(Path.Combine(dir, "tok"));
        string corpus = Path.Combine(dir, "corpus.txt");
        File.WriteAllText(corpus, FuzzSeeds.CorpusText());
        return (dir, tok, corpus);
    }

    [Fact]
    public void A_folder_holding_files_is_replaced_only_with_force_and_then_completely()
    {
        var (dir, tok, corpus) = FreqSetup();
        string outDir = Path.Combine(dir, "out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "precious.txt"), "keep me");
        var (code, error) = Run("freq", "--tokenizer", tok, "--out", outDir, "--sizes", "64", corpus);
        Assert.Equal(1, code);
        ErrorPathTests.AssertOneLineError(error, "--out", "already holds files", "--force");
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(outDir, "precious.txt")));

        (code, error) = Run("freq", "--tokenizer", tok, "--out", outDir, "--sizes", "64", "--force", corpus);
        Assert.True(code == 0, error);
        Assert.Equal(["counts.bin.gz", "freq.json", "freq_64.pt"], Directory.GetFiles(outDir).Select(f => Path.GetFileName(f)!).Order().ToArray());
        Assert.Empty(Directory.GetDirectories(dir, ".out.frspec-*"));   // no temporary sibling left behind
    }

    [Theory]
    [InlineData("../escaped.bin")]
    [InlineData("/tmp/absolute.bin")]
    [InlineData("sub/dir.bin")]
    [InlineData("..")]
    public void Output_names_cannot_escape_the_folder(string name)
    {
        var (dir, tok, corpus) = FreqSetup();
        var (code, error) = Run("freq", "--tokenizer", tok, "--out", Path.Combine(dir, "out"), "--sizes", "64", "--counts-name", name, corpus);
        Assert.Equal(1, code);
        ErrorPathTests.AssertOneLineError(error, "--counts-name", "plain file name");
        Assert.False(File.Exists(Path.Combine(dir, "escaped.bin")));
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Fact]
    public void An_output_folder_never_replaces_an_input()
    {
        var (dir, tok, corpus) = FreqSetup();
        // --out is the folder holding the corpus: with --force it would be replaced, corpus and all
        var (code, error) = Run("freq", "--tokenizer", tok, "--out", dir, "--force", "--sizes", "64", corpus);
        Assert.Equal(1, code);
        ErrorPathTests.AssertOneLineError(error, "contains", "corpus.txt");
        Assert.True(File.Exists(corpus));

        string model = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(model);
        var before = Snapshot(model);
        foreach (var outDir in new[] { model, Path.Combine(model, "eagle"), Path.GetDirectoryName(model)! })
        {
            (code, error) = Run("synth-eagle", "--model", model, "--out", outDir, "--force");
            Assert.Equal(1, code);
            ErrorPathTests.AssertOneLineError(error, "--model");
        }
        Assert.Equal(before.Keys.Order(), Snapshot(model).Keys.Order());
        Assert.All(before, kv => Assert.Equal(kv.Value, File.ReadAllBytes(Path.Combine(model, kv.Key))));
        (code, error) = Run("synth-eagle", "--model", model, "--out", Path.Combine(TestModels.NewTempDir(), "head"));
        Assert.True(code == 0, error);
    }

    [Fact]
    public void Synth_and_bench_spec_refuse_folders_holding_other_files()
    {
        string dir = TestModels.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "notes.md"), "mine");
        var (code, error) = Run("synth", "--preset", "tiny-llama3", "--out", dir);
        ErrorPathTests.AssertOneLineError(error, "already holds files");
        (code, error) = Run("synth", "--expand", dir, "--shape", "qwen2.5-0.5b", "--out", dir);
        Assert.Equal(1, code);
        string questions = Path.Combine(TestModels.NewTempDir(), "q.jsonl");
        File.WriteAllText(questions, FuzzSeeds.QuestionsJsonLines());
        (code, error) = Run("bench", "spec", "--model", dir, "--out", dir, "--data", questions);
        ErrorPathTests.AssertOneLineError(error, "already holds files");
        (code, error) = Run("train", "lm", "--config", "c.json", "--corpus", "a.jsonl", "--valid", "b.jsonl", "--tokenizer", "t.json", "--out", dir);
        ErrorPathTests.AssertOneLineError(error, "already holds files");
        Assert.Equal("mine", File.ReadAllText(Path.Combine(dir, "notes.md")));
        Assert.Single(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Folders_are_compared_after_resolving_symbolic_links()
    {
        string real = TestModels.NewTempDir(), link = Path.Combine(TestModels.NewTempDir(), "alias");
        Directory.CreateSymbolicLink(link, real);
        Assert.True(PathSafety.Same(PathSafety.Real(link), PathSafety.Real(real)));
        Assert.True(PathSafety.IsWithin(PathSafety.Real(Path.Combine(link, "x", "y")), PathSafety.Real(real)));
        Assert.False(PathSafety.IsWithin(PathSafety.Real(real + "-sibling"), PathSafety.Real(real)));
    }

    /// <summary>
    /// The real thing: a `frspec freq --force` run is started as a child process and killed while it is counting. Its
    /// corpus is a named pipe the test feeds, so the kill lands midway on a machine of any speed. The previous results must
    /// be intact, byte for byte, with nothing added to the folder; the next run removes the dead run's temporary sibling
    /// and replaces the results.
    /// </summary>
#pragma warning disable xUnit1031 // stderr is read only once the child has exited: its task is then complete
    [Fact]
    public void A_run_killed_halfway_leaves_the_previous_results_intact()
    {
        var (dir, tok, corpus) = FreqSetup();
        string outDir = Path.Combine(dir, "out");
        var (code, error) = Run("freq", "--tokenizer", tok, "--out", outDir, "--sizes", "64", corpus);
        Assert.True(code == 0, error);
        var previous = Snapshot(outDir);

        string pipe = Path.Combine(dir, "stream.txt");
        using (var mkfifo = Process.Start("mkfifo", [pipe])) mkfifo.WaitForExit();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "FrSpec.Cli.dll"), "freq", "--tokenizer", tok, "--out", outDir, "--sizes", "64", "--threads", "1", "--force", pipe })
            psi.ArgumentList.Add(a);
        using var child = Process.Start(psi)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var sw = Stopwatch.StartNew();
        var feed = new StreamWriter(pipe, false, new UTF8Encoding(false));   // blocks until the child opens the pipe
        try
        {
            for (int i = 0; i < 20_000; i++) feed.WriteLine($"{FuzzSeeds.Documents[i % FuzzSeeds.Documents.Length]} {i}");
            feed.Flush();
            while (Directory.GetDirectories(dir, ".out.frspec-tmp-*").Length == 0)
            {
                if (child.HasExited) Assert.Fail($"the run ended early: {stderr.Result}");
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "the run did not start writing within 60 s");
                Thread.Sleep(20);
            }
            Thread.Sleep(200);
            if (child.HasExited) Assert.Fail($"the run ended early: {stderr.Result}");
            child.Kill(entireProcessTree: true);   // counting, waiting for more of the corpus
            child.WaitForExit();
        }
        finally
        {
            try { feed.Dispose(); } catch (IOException) { }   // the reader is gone: the pipe is broken
        }

        var now = Snapshot(outDir);
        Assert.Equal(previous.Keys.Order(), now.Keys.Order());
        Assert.All(previous, kv => Assert.Equal(kv.Value, now[kv.Key]));
        Assert.Single(Directory.GetDirectories(dir, ".out.frspec-tmp-*"));   // the partial output, beside the folder, not in it

        (code, error) = Run("freq", "--tokenizer", tok, "--out", outDir, "--sizes", "64", "--force", corpus);
        Assert.True(code == 0, error);
        Assert.Empty(Directory.GetDirectories(dir, ".out.frspec-*"));
    }
#pragma warning restore xUnit1031

    [Fact]
    public void A_single_output_file_is_replaced_only_with_force_never_inside_an_input_and_appears_complete()
    {
        string dir = TestModels.NewTempDir();
        string model = Path.Combine(dir, "model");
        Directory.CreateDirectory(model);
        string file = Path.Combine(dir, "results.json");
        File.WriteAllText(file, "keep me");
        var e = Assert.Throws<FrSpecException>(() => OutputFile.Check(file, force: false, "--json"));
        Assert.Contains("--force", e.Message);
        OutputFile.Check(file, force: true, "--json");
        e = Assert.Throws<FrSpecException>(() => OutputFile.Check(Path.Combine(model, "r.json"), force: true, "--json", new OutputFolder.Input(model, "--model")));
        Assert.Contains("--model", e.Message);
        Assert.Throws<FrSpecException>(() => OutputFile.Check(model, force: true, "--json"));

        OutputFile.WriteAllText(file, "new results");
        Assert.Equal("new results", File.ReadAllText(file));
        Assert.Equal(["model", "results.json"], Directory.EnumerateFileSystemEntries(dir).Select(f => Path.GetFileName(f)!).Order().ToArray());
    }

    [Fact]
    public void Bench_serve_refuses_an_existing_json_file_before_loading_anything()
    {
        string dir = TestModels.NewTempDir();
        string file = Path.Combine(dir, "serve.json");
        File.WriteAllText(file, "keep me");
        var (code, error) = Run("bench", "serve", "--model", Path.Combine(dir, "no-model"), "--json", file);
        Assert.Equal(1, code);
        ErrorPathTests.AssertOneLineError(error, "--json", "already exists", "--force");
        Assert.Equal("keep me", File.ReadAllText(file));
    }

    [Fact]
    public void Quantize_replaces_an_existing_gguf_only_with_force_and_leaves_no_partial_file()
    {
        string dir = TestModels.NewTempDir(), model = Path.Combine(dir, "model"), gguf = Path.Combine(dir, "model.gguf");
        FuzzSeeds.WriteModel(model);
        File.WriteAllText(gguf, "keep me");
        var (code, error) = Run("quantize", "--model", model, "--type", "q8_0", "--out", gguf);
        Assert.Equal(1, code);
        ErrorPathTests.AssertOneLineError(error, "--out", "exists", "--force");
        Assert.Equal("keep me", File.ReadAllText(gguf));

        (code, error) = Run("quantize", "--model", model, "--type", "q8_0", "--out", gguf, "--force");
        Assert.True(code == 0, error);
        using (var file = FrSpec.Formats.Gguf.GgufFile.Open(gguf)) Assert.NotEmpty(file.Tensors);
        Assert.Equal(["model", "model.gguf"], Directory.EnumerateFileSystemEntries(dir).Select(f => Path.GetFileName(f)!).Order().ToArray());
    }
}
