namespace FrSpec.Peer;

/// <summary>Command-line options of the peer benchmark (parsed by hand: the program has no CLI dependency of its own).</summary>
internal sealed record PeerOptions
{
    public required string Model { get; init; }
    public string? Tokenizer { get; init; }
    public string Cache { get; init; } = DefaultCache();
    public int Threads { get; init; } = 2;
    public int Rounds { get; init; } = 5;
    public int DecodeTokens { get; init; } = 32;
    public int[] Batches { get; init; } = [8, 16, 32];
    public int PromptTokens { get; init; } = 16;
    /// <summary>Positions of the real-text prompt whose logits the two engines must agree on.</summary>
    public int CheckTokens { get; init; } = 64;
    public bool Json { get; init; }
    public bool Bench { get; init; } = true;
    public bool Check { get; init; } = true;
    public bool Verbose { get; init; }
    /// <summary>Where weights live: "default" (each engine's own default), "mmap" (both mapped) or "thp" (both in huge pages).</summary>
    public string Memory { get; init; } = "default";
    /// <summary>Seconds to wait for idle CPUs before each round (0: don't wait).</summary>
    public int QuietWait { get; init; } = 60;

    public const string Usage = """
        usage: FrSpec.Peer --model DIR|FILE.gguf [options]
          --model DIR          Hugging Face model directory FrSpec loads (llama / qwen2), written as GGUF for llama.cpp;
                               or a .gguf file (e.g. from `frspec quantize`) that both engines load as it is
          --tokenizer FILE     tokenizer.json for the GGUF (default: DIR/tokenizer.json; a .gguf: its own metadata)
          --cache DIR          where the GGUF copy is kept (default: $FRSPEC_CACHE/gguf or ~/.cache/frspec/gguf)
          --threads N          threads for both engines (default 2)
          --rounds N           interleaved measurement rounds, medians reported (default 5)
          --decode-tokens N    single-token decode steps per round (default 32)
          --batch LIST         batch sizes N, comma-separated (default 8,16,32)
          --prompt-tokens N    context before decode and batches (default 16)
          --check-tokens N     positions of the real-text prompt for the logit check (default 64)
          --json               print the results as one JSON object on stdout (the report goes to stderr)
          --no-bench | --no-check   skip the timing or the numerics comparison
          --quiet-wait S       before each round wait up to S seconds for the CPUs to be idle (default 60, 0 = off)
          --memory MODE        default: each engine's default (FrSpec huge pages on Linux, llama.cpp mmap);
                               mmap: both memory-mapped; thp: both in 2 MiB transparent huge pages
                               (llama.cpp --no-mmap with GLIBC_TUNABLES=glibc.malloc.hugetlb=1)
          --verbose            show llama.cpp's log
        """;

    private static string DefaultCache()
    {
        string root = Environment.GetEnvironmentVariable("FRSPEC_CACHE") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "frspec");
        return Path.Combine(root, "gguf");
    }

    public static PeerOptions Parse(string[] args)
    {
        string? model = null, tok = null, cache = null;
        int threads = 2, rounds = 5, decode = 32, prompt = 16, quietWait = 60, checkTokens = 64;
        int[] batches = [8, 16, 32];
        bool bench = true, check = true, verbose = false, json = false;
        string memory = "default";
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new FrSpecException($"{a} needs a value");
            int NextInt(int min, int max)
            {
                string v = Next();
                return int.TryParse(v, out int x) && x >= min && x <= max ? x : throw new FrSpecException($"{a}: '{v}' is not an integer in [{min}, {max}]");
            }
            switch (a)
            {
                case "--model": model = Next(); break;
                case "--tokenizer": tok = Next(); break;
                case "--cache": cache = Next(); break;
                case "--threads": threads = NextInt(1, 256); break;
                case "--rounds": rounds = NextInt(1, 1000); break;
                case "--decode-tokens": decode = NextInt(1, 4096); break;
                case "--prompt-tokens": prompt = NextInt(1, 4096); break;
                case "--check-tokens": checkTokens = NextInt(2, 4096); break;
                case "--json": json = true; break;
                case "--batch":
                    var parts = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    batches = parts.Select(p => int.TryParse(p, out int n) && n >= 1 && n <= 512 ? n : throw new FrSpecException($"--batch: '{p}' is not a size in [1, 512]")).ToArray();
                    break;
                case "--no-bench": bench = false; break;
                case "--no-check": check = false; break;
                case "--verbose": verbose = true; break;
                case "--memory":
                    memory = Next();
                    if (memory is not ("default" or "mmap" or "thp")) throw new FrSpecException($"--memory: '{memory}' is not default, mmap or thp");
                    break;
                case "--quiet-wait": quietWait = NextInt(0, 3600); break;
                case "-h" or "--help": throw new FrSpecException(Usage);
                default: throw new FrSpecException($"unknown option '{a}'\n{Usage}");
            }
        }
        if (model == null) throw new FrSpecException($"--model is required\n{Usage}");
        if (tok != null && Directory.Exists(tok)) tok = Path.Combine(tok, "tokenizer.json");
        return new PeerOptions
        {
            Model = model, Tokenizer = tok, Cache = cache ?? DefaultCache(), Threads = threads, Rounds = rounds, DecodeTokens = decode,
            Batches = batches, PromptTokens = prompt, Bench = bench, Check = check, Verbose = verbose, QuietWait = quietWait, Memory = memory,
            CheckTokens = checkTokens, Json = json,
        };
    }
}
