namespace FrSpec.Server;

/// <summary>Where the server listens and how much work it takes on.</summary>
public sealed record ServerOptions
{
    /// <summary>Address to bind (loopback by default: the server has no authentication).</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>Port to bind; 0 picks a free one (see <see cref="OpenAiServer.Address"/>).</summary>
    public int Port { get; init; } = 8080;
    /// <summary>The model id clients name (/v1/models); requests naming another model get 404.</summary>
    public required string ModelId { get; init; }
    /// <summary>Generations that run at once (each on a session of its own; vanilla ones are batched together).</summary>
    public int Slots { get; init; } = 16;
    /// <summary>Requests that may wait for a slot; beyond that the server answers 503 with Retry-After.</summary>
    public int Queue { get; init; } = 64;
    /// <summary>Seconds a client is told to wait (Retry-After) when the queue is full.</summary>
    public int RetryAfterSeconds { get; init; } = 1;
    /// <summary>On shutdown (SIGTERM), seconds in-flight requests may take to finish before they are cancelled.</summary>
    public double DrainSeconds { get; init; } = 5;
    /// <summary>Where to log one line per request (null: no log).</summary>
    public TextWriter? Log { get; init; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelId)) throw new FrSpecException("the model id must not be empty");
        if (Port is < 0 or > 65535) throw new FrSpecException($"--port must be between 0 and 65535, got {Port}");
        if (Slots is < 1 or > 1024) throw new FrSpecException($"--slots must be between 1 and 1024, got {Slots}");
        if (Queue is < 0 or > 100_000) throw new FrSpecException($"--queue must be between 0 and 100000, got {Queue}");
        if (RetryAfterSeconds < 1) throw new FrSpecException($"Retry-After must be at least 1 second, got {RetryAfterSeconds}");
        if (!(DrainSeconds >= 0)) throw new FrSpecException($"--drain-seconds must be non-negative, got {DrainSeconds}");
        if (!System.Net.IPAddress.TryParse(Host, out _) && Host != "localhost") throw new FrSpecException($"--host must be an IP address or localhost, got '{Host}'");
    }
}
