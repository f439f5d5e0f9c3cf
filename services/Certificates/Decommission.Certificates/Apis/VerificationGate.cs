using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Apis;

/// <summary>At most <see cref="CertificatesOptions.MaxParallelVerifications"/> uploads are read and checked at once; each holds its PDF in memory.</summary>
public sealed class VerificationGate(IOptions<CertificatesOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxParallelVerifications, options.Value.MaxParallelVerifications);

    /// <summary>A slot, or null when none freed up in time.</summary>
    public async Task<IDisposable?> EnterAsync(CancellationToken cancellationToken) =>
        await _slots.WaitAsync(options.Value.VerificationQueueTimeout, cancellationToken) ? new Slot(_slots) : null;

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                slots.Release();
        }
    }
}
