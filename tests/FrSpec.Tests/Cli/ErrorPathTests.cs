using System.CommandLine;
using System.Reflection;
using System.Text.RegularExpressions;
using FrSpec.Cli;
using FrSpec.Cli.Support;
using FrSpec.Fuzzing;

namespace FrSpec.Tests.Cli;

/// <summary>Every failure of the CLI is one line naming what is wrong, with a non-zero exit code, never a stack trace.</summary>
public class ErrorPathTests
{
    /// <summary>Runs the CLI in-process; returns the exit code and what went to stderr.</summary>
    internal static (int Code, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        int code = Program.Run(args, error);
        return (code, error.ToString());
    }

    internal static void AssertOneLineError(string error, params string[] mentions)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, got:\n{error}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", error);
        foreach (var m in mentions) Assert.Contains(m, lines[0]);
    }

    private static IEnumerable<(string Path, Option Option)> NumericOptions(Command c, string path = "")
    {
        foreach (var o in c.Options)
            if (OptionRanges.IsNumeric(o)) yield return (path, o);
        foreach (var sub in c.Subcommands)
            foreach (var x in NumericOptions(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}")) yield return x;
    }

    [Fact]
    public void Every_numeric_option_of_every_verb_has_a_declared_range()
    {
        var options = NumericOptions(Program.BuildRoot()).ToList();
        Assert.True(options.Count > 40, $"only {options.Count} numeric options found");
        var missing = options.Where(o => OptionRanges.Find(o.Path, o.Option.Name) is null).Select(o => $"{o.Path} {o.Option.Name}").ToList();
        Assert.True(missing.Count == 0, "add a range in src/FrSpec.Cli/Support/OptionRanges.cs for: " + string.Join(", ", missing));
    }

    [Fact]
    public void NaN_and_infinity_are_refused_for_every_floating_point_option()
    {
        var floats = NumericOptions(Program.BuildRoot())
            .Where(o => (Nullable.GetUnderlyingType(o.Option.ValueType) ?? o.Option.ValueType) is var t && (t == typeof(float) || t == typeof(double))).ToList();
        Assert.True(floats.Count >= 6);
        foreach (var (path, option) in floats)
            foreach (var bad in new[] { "NaN", "Infinity", "-Infinity" })
            {
                var (code, error) = Run([.. path.Split(' '), option.Name, bad]);
                Assert.Equal(1, code);
                AssertOneLineError(error, $"{option.Name} must be");
            }
    }

    [Theory]
    [InlineData("generate --model m --max-tokens -5 hi", "--max-tokens must be between 1")]
    [InlineData("generate --model m --max-tokens 0 hi", "--max-tokens")]
    [InlineData("generate --model m --top-p 0 hi", "--top-p must be in (0, 1]")]
    [InlineData("generate --model m --top-p 1.5 hi", "--top-p")]
    [InlineData("generate --model m --temperature -1 hi", "--temperature")]
    [InlineData("generate --model m --top-k -1 hi", "--top-k")]
    [InlineData("generate --model m --tree-depth 99 hi", "--tree-depth must be between 0 and 32")]
    [InlineData("bench spec --out o --tree-tokens 0", "--tree-tokens")]
    [InlineData("bench tokenizer --tokenizer t --threads -1 c.txt", "--threads must be between 0")]
    [InlineData("freq --tokenizer t --out o --threads 0 c.txt", "--threads must be between 1")]
    [InlineData("bench machine --mib 99999999", "--mib")]
    [InlineData("demo --fr-sizes 8192 0", "--fr-sizes")]
    [InlineData("generate --model m --max-tokens abc hi", "--max-tokens")]
    [InlineData("no-such-verb", "no-such-verb")]
    [InlineData("train eagle --model m --out o --corpus c.jsonl --init /nonexistent/head", "/nonexistent/head")]
    public void Out_of_range_and_malformed_arguments_are_one_line_errors(string commandLine, string mention)
    {
        var (code, error) = Run(commandLine.Split(' '));
        Assert.Equal(1, code);
        AssertOneLineError(error, mention);
    }

    [Fact]
    public void Train_eagle_init_with_a_head_of_other_shapes_is_refused_before_the_data_is_built()
    {
        string target = FrSpec.Tests.Speculative.TinyModels.Target("qwen2", false, 93);
        string head = FrSpec.Tests.Speculative.TinyModels.NewDir("init-head"), outDir = Path.Combine(FrSpec.Tests.Speculative.TinyModels.NewDir("init-out"), "o");
        // a head trained for a target half as wide
        var narrower = FrSpec.Model.ModelConfig.Load(FrSpec.Tests.Speculative.TinyModels.Target("qwen2", false, 93, hidden: 32));
        new FrSpec.Training.TrainableEagleHead(narrower, 1, 2).Save(head, FrSpec.Numerics.DType.F32);
        // the target has no tokenizer and the corpus does not exist: a run that checked the head later would stop on either first
        var (code, error) = Run("train", "eagle", "--model", target, "--out", outDir, "--corpus", Path.Combine(head, "no-such-corpus.jsonl"), "--init", head);
        Assert.Equal(1, code);
        AssertOneLineError(error, Path.Combine(head, "model.safetensors"), "'fc.weight'", "[32, 64]", "[64, 128]");
        Assert.DoesNotContain("target features", File.ReadAllText(Path.Combine(outDir, "training", "train.log")));
    }

    [Fact]
    public void Bad_input_is_one_line_and_debug_adds_the_stack_trace()
    {
        var (code, error) = Run("generate", "--model", "/nonexistent/model", "hi");
        Assert.Equal(1, code);
        AssertOneLineError(error, "/nonexistent/model", "not found");
        (code, error) = Run("generate", "--model", "/nonexistent/model", "--debug", "hi");
        Assert.Equal(1, code);
        Assert.Contains("   at FrSpec.", error);
        Assert.EndsWith("error: /nonexistent/model: model directory (or .gguf file) not found", error.TrimEnd());
    }

    [Fact]
    public void Worker_and_reflection_wrappers_are_unwrapped_to_the_inner_message()
    {
        var inner = new FrSpecException("corpus.jsonl:3: invalid JSON");
        Assert.Equal(("corpus.jsonl:3: invalid JSON", 1), CliErrors.Describe(new AggregateException(new AggregateException(inner))));
        Assert.Equal(("corpus.jsonl:3: invalid JSON", 1), CliErrors.Describe(new TargetInvocationException(inner)));
        Assert.Equal(("corpus.jsonl:3: invalid JSON", 1), CliErrors.Describe(new AggregateException(new OperationCanceledException(), inner)));
        Assert.Equal(130, CliErrors.Describe(new AggregateException(new OperationCanceledException())).ExitCode);
    }

    [Theory]
    [InlineData(typeof(System.Text.Json.JsonException), "invalid JSON")]
    [InlineData(typeof(System.Text.DecoderFallbackException), "invalid UTF-8")]
    [InlineData(typeof(InvalidDataException), "invalid data")]
    [InlineData(typeof(ArgumentOutOfRangeException), "invalid argument")]
    [InlineData(typeof(OutOfMemoryException), "more memory")]
    [InlineData(typeof(IOException), "disk")]
    public void Expected_exception_families_are_bad_input(Type type, string mention)
    {
        var e = (Exception)Activator.CreateInstance(type, "disk\nfull")!;
        var (message, code) = CliErrors.Describe(e);
        Assert.Equal(1, code);
        Assert.Contains(mention, message);
        Assert.DoesNotContain('\n', message);
        var timeout = CliErrors.Describe(new RegexMatchTimeoutException("aaaa!", "(a+)+$", TimeSpan.FromSeconds(2)));
        Assert.Contains("(a+)+$", timeout.Message);
        Assert.Equal(1, timeout.ExitCode);
    }

    [Fact]
    public void An_internal_bug_still_prints_something_sane()
    {
        var (message, code) = CliErrors.Describe(new NullReferenceException("Object reference not set"));
        Assert.Equal(70, code);
        Assert.Contains("internal error", message);
        Assert.Contains("NullReferenceException", message);
        Assert.Contains("--debug", message);
    }

    [Fact]
    public void Messages_with_control_characters_or_huge_echoes_stay_one_bounded_line()
    {
        var e = new FrSpecException("tensor 'a\nb\u0000c' is missing: " + new string('x', 5000));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("a\\nb\\u0000c", e.Message);
        Assert.True(e.Message.Length < FrSpecException.MaxMessageLength + 60, e.Message.Length.ToString());
    }

    [Fact]
    public void A_bad_corpus_given_to_freq_is_one_line_naming_file_and_line()
    {
        string dir = TestModels.NewTempDir();
        string tok = FuzzSeeds.WriteTokenizer(Path.Combine(dir, "tok"));
        File.WriteAllText(Path.Combine(dir, "bad.jsonl"), "{\"text\": \"ok\"}\n{\"text\": 5}\n");
        var (code, error) = Run("freq", "--tokenizer", tok, "--out", Path.Combine(dir, "out"), "--sizes", "64", "--threads", "2", Path.Combine(dir, "bad.jsonl"));
        Assert.Equal(1, code);
        AssertOneLineError(error, "bad.jsonl:2", "\"text\"");
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
        // binary data is not text, an empty corpus is not a frequency file
        File.WriteAllBytes(Path.Combine(dir, "bin.txt"), [0x41, 0xFF, 0xFE, 0x00, 0x42, 0x0A]);
        (code, error) = Run("freq", "--tokenizer", tok, "--out", Path.Combine(dir, "out"), "--sizes", "64", Path.Combine(dir, "bin.txt"));
        AssertOneLineError(error, "bin.txt", "not UTF-8");
        File.WriteAllText(Path.Combine(dir, "empty.txt"), "\n\n");
        (code, error) = Run("freq", "--tokenizer", tok, "--out", Path.Combine(dir, "out"), "--sizes", "64", Path.Combine(dir, "empty.txt"));
        AssertOneLineError(error, "empty.txt", "no text");
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }
}
