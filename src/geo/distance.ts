/** Great-circle distance and the RTT it suggests when nothing was measured. */
const EARTH_RADIUS_KM = 6371;

export function greatCircleKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * Light in fibre covers about 200 km per ms, so a round trip costs distance/100 ms on a straight path; real
 * routes are about 1.5x longer, and 5 ms stands for the last mile and processing.
 */
export function rttFromDistanceMs(km: number): number {
  return 5 + km * 0.015;
}
