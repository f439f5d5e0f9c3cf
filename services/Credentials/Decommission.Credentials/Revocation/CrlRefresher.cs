using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// Keeps the CRL current when nothing is revoked for a while: a CRL past its nextUpdate is no CRL to a relying party, and
/// the broker, which checks every device certificate against it, would then refuse the whole fleet. Looks every eighth of
/// the validity (at most hourly); <see cref="CrlPublisher.EnsureFreshCrlAsync"/> re-issues once half of it has passed.
/// In between, every <see cref="CredentialsOptions.CrlFileSync"/>, brings the CRL file up to a newer CRL another replica issued.
/// </summary>
public sealed class CrlRefresher(CrlPublisher crls, IOptions<CredentialsOptions> options, TimeProvider clock, ILogger<CrlRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromTicks(Math.Min(options.Value.CrlValidity.Ticks / 8, TimeSpan.FromHours(1).Ticks));
        var tick = options.Value.CrlFileSync < interval ? options.Value.CrlFileSync : interval;
        var freshnessDue = clock.GetUtcNow() + interval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(tick, clock, stoppingToken);
                if (clock.GetUtcNow() >= freshnessDue)
                {
                    freshnessDue = clock.GetUtcNow() + interval;
                    await crls.EnsureFreshCrlAsync(stoppingToken);
                }
                else
                    await crls.SyncFileAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Could not re-issue the CRL or bring its file up to date; trying again in {Interval}", tick);
            }
        }
    }
}
