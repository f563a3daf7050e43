import type { Detector, DetectorMatch } from '../types.js';
import { casings, isWholeWord, LiteralGate, matchesOf } from '../scan.js';

/**
 * `image`: screenshots, camera pictures and photos -> confidential. Image PARTS of a request are
 * reported by the classifier itself (this detector sees text only); here: mentions beyond the
 * indicator words (`photo`, `webcam`, `screen capture`, `selfie`, `dashcam`, `picture of my ...`,
 * `attached image`, ...) and inline
 * image data (`data:image/png;base64,...`). `photography` (the craft) and `photoshop` are not
 * mentions of a photo.
 */
// Alternatives share their prefixes (photo..., screen...): the same words, scanned about a third faster.
const IMAGE_WORDS =
  /photo(?:graph(?:s|ed)?|cop(?:y|ies)|s)?|(?:web|dash|body)cams?|cctv|selfies?|screen(?:caps?|[ -]?(?:captur(?:es?|ed)|grabs?|recordings?)|[ -]shots?)|print[ -]?screens?|(?:attached|uploaded|enclosed|embedded) (?:images?|pictures?|pics?|scans?|videos?)|(?:pic(?:ture)?s?|images?|scans?|snapshots?|videos?|recordings?) of (?:me|my|our|his|her|their|the (?:whiteboard|screen|document|receipt|id|passport|license|licence|card))\b/gi;
const DATA_URI = /data:image\/[a-z0-9.+-]{1,20};base64,[A-Za-z0-9+/=]{0,40}/gi;
const DATA_GATE = new LiteralGate(casings(['data:image/']));

export const imageMentionsDetector: Detector = {
  id: 'image',
  scan(text) {
    const matches: DetectorMatch[] = [];
    {
      for (const match of matchesOf(IMAGE_WORDS, text)) {
        const start = match.index;
        const end = start + match[0].length;
        if (!isWholeWord(text, start, end)) continue;
        matches.push({
          detector: 'image',
          level: 'confidential',
          reason: `mentions '${match[0].toLowerCase()}' (screenshots, camera and photo content)`,
          start,
          end,
          excerpt: match[0],
        });
      }
    }
    if (DATA_GATE.any(text)) {
      for (const match of matchesOf(DATA_URI, text)) {
        matches.push({
          detector: 'image',
          level: 'confidential',
          reason: 'inline image data (data: URI)',
          start: match.index,
          end: match.index + match[0].length,
          excerpt: `${match[0].slice(0, match[0].indexOf(',') + 1)}…`,
        });
      }
    }
    return matches;
  },
};
