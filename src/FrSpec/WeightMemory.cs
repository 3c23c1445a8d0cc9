namespace FrSpec;

/// <summary>Where model weights live while the engine runs.</summary>
public enum WeightMemory
{
    /// <summary>Huge pages where the OS offers them, else mapped.</summary>
    Default,
    /// <summary>Used in place from the memory-mapped files (no copy; 4 KiB pages).</summary>
    Mapped,
    /// <summary>Copied once into an anonymous arena advised into 2 MiB transparent huge pages.</summary>
    HugePages,
}
